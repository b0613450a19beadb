// Command kubectl-yaml writes the fixtures that compare tollgate's reading of YAML with kubectl's
// own code rather than with a reading of it: sigs.k8s.io/yaml's YAMLToJSON over go-yaml v2, what
// kubectl runs on each document before it sends JSON to the apiserver.
//
//	cd scripts/kubectl-yaml
//	go run . scalars > ../../test/fixtures/yaml11/kubectl-scalars.json
//	go run . aliases > ../../test/fixtures/yaml11/kubectl-aliases.json
//
// scalars: for each plain scalar, the JSON value kubectl sends for `v: <scalar>`, or its error.
// aliases: documents made of a head, n copies of a unit and a tail, and the smallest n from which
// kubectl refuses the document for excessive aliasing.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"sigs.k8s.io/yaml"
)

// Every string of up to three characters over the ones that make YAML 1.1 numbers, and the
// longer forms that a UID, a port or a replica count might be written in.
const alphabet = "018_+-.exob"

var spelled = []string{
	"0_0", "8_0", "8_080", "1_000_000", "0x50", "0X50", "0x_50", "0x5_0", "0o120", "0O120", "0120", "0_120",
	"0b1010000", "0B1010000", "0b_1", "-0b1", "+0b1", "0b-1", "0b+1", "-0b-1", "0b2", "0o8", "08", "09",
	"-0", "+0", "-0.0", "+0.0", "0.0", "00", "000", "-00", "0e0", "0E0", "0.0e0", "-0e5", "1e-400", "1e400",
	"-1e400", ".5e400", ".5", "-.5", "+.5", "._5", ".5_", ".5_0", ".5e1_0", ".5E+3", ".5e", ".e5", "5.", "5.e3",
	"1_.5", "1._5", "1.5_", "_1", "1_", "1__0", "1e5_0", "1_e5", "1e_5", "12e3", "1.5e-3", "0x1p3", "0x1.8p1",
	"1:30", "1:30:00", "190:20:30", "-1:30", "1:3_0", "1.5:30", "65534", "65535", "65536", "2147483647",
	"2147483648", "4294967295", "4294967296", "9223372036854775807", "9223372036854775808",
	"-9223372036854775808", "-9223372036854775809", "18446744073709551615", "18446744073709551616",
	"+18446744073709551615", "0xFFFFFFFFFFFFFFFF", "0x10000000000000000", "-0x8000000000000000",
	"0b1111111111111111111111111111111111111111111111111111111111111111",
	"0b-1000000000000000000000000000000000000000000000000000000000000000",
	"99999999999999999999", "-99999999999999999999", "1.7976931348623157e308", "1.7976931348623159e308",
	"4.9e-324", "2.4e-324", "0.1", "0.30000000000000004", "123456789012345678", "9007199254740993",
	".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN",
	".iNf", "inf", "Infinity", "NaN", "nan", "+inf", "-Infinity", "0x", "0o", "0b", "0_x1", "0x1g", "1,000",
	"1 000", "1.000.000", "2027-01-31", "2027-1-31", "2001-12-14t21:59:43.10-05:00", "1234-5", "~", "null",
}

func scalars() []string {
	out := []string{}
	var grow func(prefix string, left int)
	grow = func(prefix string, left int) {
		if prefix != "" {
			out = append(out, prefix)
		}
		if left == 0 {
			return
		}
		for _, c := range alphabet {
			grow(prefix+string(c), left-1)
		}
	}
	grow("", 3)
	return append(out, spelled...)
}

type row struct {
	In    string          `json:"in"`
	JSON  json.RawMessage `json:"json,omitempty"`
	Error string          `json:"error,omitempty"`
}

func main() {
	if len(os.Args) != 2 || (os.Args[1] != "scalars" && os.Args[1] != "aliases") {
		fmt.Fprintln(os.Stderr, "usage: kubectl-yaml scalars|aliases")
		os.Exit(2)
	}
	if os.Args[1] == "aliases" {
		writeLines(aliasBounds())
		return
	}
	rows := []row{}
	for _, s := range scalars() {
		j, err := yaml.YAMLToJSON([]byte("v: " + s + "\n"))
		if err != nil {
			rows = append(rows, row{In: s, Error: err.Error()})
			continue
		}
		var doc struct {
			V json.RawMessage `json:"v"`
		}
		if err := json.Unmarshal(j, &doc); err != nil {
			panic(err)
		}
		rows = append(rows, row{In: s, JSON: doc.V})
	}
	writeLines(rows)
}

// One row a line, so that a change of go-yaml shows as a readable diff.
func writeLines[T any](rows []T) {
	os.Stdout.WriteString("[\n")
	for i, r := range rows {
		line, err := json.Marshal(r)
		if err != nil {
			panic(err)
		}
		if i > 0 {
			os.Stdout.WriteString(",\n")
		}
		os.Stdout.Write(line)
	}
	os.Stdout.WriteString("\n]\n")
}

type shape struct {
	Name string `json:"name"`
	Head string `json:"head"`
	Unit string `json:"unit"`
	Sep  string `json:"sep"`
	Tail string `json:"tail"`
	// The smallest number of units from which kubectl answers "excessive aliasing".
	FailsFrom int `json:"failsFrom"`
}

func (s shape) text(n int) string {
	units := make([]string, n)
	for i := range units {
		units[i] = s.Unit
	}
	return s.Head + strings.Join(units, s.Sep) + s.Tail
}

func repeat(unit string, n int, sep string) string {
	units := make([]string, n)
	for i := range units {
		units[i] = strings.ReplaceAll(unit, "%d", fmt.Sprint(i))
	}
	return strings.Join(units, sep)
}

func aliasShapes() []shape {
	return []shape{
		{Name: "the issue's bomb: containers aliased, each with aliased env entries",
			Head: "e: &e {name: A, value: b}\nc: &c {name: c, image: x, env: [" + repeat("*e", 3000, ", ") + "]}\nd: [",
			Unit: "*c", Sep: ", ", Tail: "]\n"},
		{Name: "a flow list of 1000 scalars", Head: "a: &a [" + repeat("x", 1000, ", ") + "]\nb: [",
			Unit: "*a", Sep: ", ", Tail: "]\n"},
		{Name: "a flow mapping of 300 keys", Head: "a: &a {" + repeat("k%d: v", 300, ", ") + "}\nb: [",
			Unit: "*a", Sep: ", ", Tail: "]\n"},
		{Name: "block lists", Head: "a: &a\n" + repeat("  - x", 20, "\n") + "\nb:\n",
			Unit: "  - *a", Sep: "\n", Tail: "\n"},
		{Name: "block mappings, nested",
			Head: "e: &e\n  name: A\n  value: b\nc: &c\n  name: c\n  env:\n" + repeat("  - *e", 30, "\n") + "\nd:\n",
			Unit: "- *c", Sep: "\n", Tail: "\n"},
		{Name: "aliases on the line after their key", Head: "a: &a [" + repeat("x", 10, ", ") + "]\nb:\n",
			Unit: "  - k:\n      *a", Sep: "\n", Tail: "\n"},
		{Name: "merge keys", Head: "a: &a {" + repeat("k%d: v", 20, ", ") + "}\nb: [",
			Unit: "{<<: *a, z: 1}", Sep: ", ", Tail: "]\n"},
		{Name: "merge keys with a list of maps",
			Head: "a: &a {" + repeat("k%d: v", 10, ", ") + "}\nb: &b {q: 1}\nc: [",
			Unit: "{<<: [*a, *b], z: 1}", Sep: ", ", Tail: "]\n"},
		{Name: "one scalar aliased past 400,000 decodes", Head: "a: &a [x]\nb: [",
			Unit: "*a", Sep: ", ", Tail: "]\n"},
		{Name: "a scalar aliased past 2,000,000 decodes", Head: "a: &a x\nc: [" + repeat("y", 10, ", ") + "]\nb: [",
			Unit: "*a", Sep: ", ", Tail: "]\n"},
	}
}

func refused(text string) bool {
	_, err := yaml.YAMLToJSON([]byte(text))
	if err != nil && !strings.Contains(err.Error(), "excessive aliasing") {
		panic(err)
	}
	return err != nil
}

func aliasBounds() []shape {
	shapes := aliasShapes()
	for i, s := range shapes {
		low, high := 0, 1
		for !refused(s.text(high)) {
			low, high = high, high*2
		}
		for high-low > 1 {
			mid := (low + high) / 2
			if refused(s.text(mid)) {
				high = mid
			} else {
				low = mid
			}
		}
		shapes[i].FailsFrom = high
	}
	return shapes
}
