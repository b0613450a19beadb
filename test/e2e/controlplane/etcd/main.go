// Command etcd is the upstream etcd server, built from the pinned
// go.etcd.io/etcd/server/v3 module for tollgate's end-to-end tests. It mirrors
// go.etcd.io/etcd/v3's main.go.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
