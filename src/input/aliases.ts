import { type Mark, type State, YAMLException } from "js-yaml";

/**
 * The alias bound of go-yaml v2 (decode.go, `allowedAliasRatio` and `unmarshal`), which is what
 * makes kubectl answer "document contains excessive aliasing" in a tenth of a second where
 * expanding a 30 KB alias bomb would take gigabytes.
 *
 * go-yaml counts every node it decodes (`decodeCount`: the document node, each key, value and
 * item, an alias node and then each node of what it stands for) and, of those, the ones decoded
 * inside an alias (`aliasCount`). Before each node it fails when
 *
 *   aliasCount > 100 && decodeCount > 1000 && aliasCount / decodeCount > allowedAliasRatio(decodeCount)
 *
 * where the ratio allowed is 0.99 up to 400,000 decodes, 0.10 from 4,000,000, and linear in
 * between. The counts start again with each document (kubectl decodes one document at a time).
 *
 * js-yaml shares an anchored node instead of copying it, so nothing here is expanded: the budget
 * is told how many nodes an alias stands for (its anchor's node count, aliases inside counted
 * expanded, as go-yaml decodes them) and adds them at once. Inside one expansion both counts grow
 * by one a node, so the ratio only rises and the ratio allowed only falls: the condition holds
 * somewhere inside the expansion if and only if it holds at its end, and one check there is exact.
 * Outside expansions each node is checked as go-yaml checks it.
 *
 * A merge key (`<<`) is not decoded there, nor a list of maps after it (its maps are), so neither
 * counts here. One difference remains: an alias of a null (`*a` for `&a ~`) cannot be told from an
 * empty value in js-yaml's events, so it counts as one plain node instead of two aliased ones.
 * scripts/kubectl-yaml's alias mode compares the verdicts with go-yaml's own on bombs of many
 * shapes, flow and block, merges, and documents past 400,000 and 4,000,000 decodes.
 */

const RANGE_LOW = 400_000;
const RANGE_HIGH = 4_000_000;
const RANGE = RANGE_HIGH - RANGE_LOW;

/** go-yaml v2's `allowedAliasRatio`, in the same floating-point steps. */
export function allowedAliasRatio(decodes: number): number {
  if (decodes <= RANGE_LOW) return 0.99;
  if (decodes >= RANGE_HIGH) return 0.1;
  return 0.99 - 0.89 * ((decodes - RANGE_LOW) / RANGE);
}

/** Counts one document's decodes as go-yaml v2 would; `exceeded` says when it would give up. */
export class AliasBudget {
  /** The document node is the first decode. */
  decodes = 1;
  aliased = 0;

  reset(): void {
    this.decodes = 1;
    this.aliased = 0;
  }

  /** One node decoded outside any alias: true when go-yaml would stop here. */
  node(): boolean {
    this.decodes++;
    return this.exceeded();
  }

  /** An alias that stands for `nodes` nodes has just been decoded (the alias node itself went to `node`). */
  expand(nodes: number): boolean {
    this.decodes += nodes;
    this.aliased += nodes;
    return this.exceeded();
  }

  /** A node counted by `node` that go-yaml does not decode after all (a merge key). */
  uncount(): void {
    this.decodes--;
  }

  exceeded(): boolean {
    return (
      this.aliased > 100 &&
      this.decodes > 1000 &&
      this.aliased / this.decodes > allowedAliasRatio(this.decodes)
    );
  }
}

/** kubectl's answer to an alias bomb: go-yaml v2 gives up on the document. */
export class ExcessiveAliasing extends YAMLException {
  constructor(
    state: State,
    readonly budget: { decodes: number; aliased: number },
  ) {
    super(
      `excessive aliasing: its aliases expand to ${budget.aliased} of the ${budget.decodes} nodes read so far; ` +
        `kubectl refuses it too ("document contains excessive aliasing")`,
      markOf(state),
    );
    this.name = "ExcessiveAliasing";
  }
}

export function markOf(state: State): Mark {
  const column = state.position - state.lineStart;
  return { name: "", buffer: "", position: state.position, line: state.line, column, snippet: "" };
}

const MERGE_TAG = "tag:yaml.org,2002:merge";

/**
 * Feeds an AliasBudget from js-yaml's listener events (`open` and `close` of every node, in
 * document order, as go-yaml decodes them) and throws ExcessiveAliasing where go-yaml would stop.
 * Every event costs a few array writes; nothing is expanded.
 */
export class AliasCounter {
  private readonly budget = new AliasBudget();
  /** How many nodes each anchored mapping or sequence stands for, aliases in it expanded. */
  private readonly anchored = new Map<object, number>();
  /** Per open node (index = its depth, 0 for the stream): nodes of its closed children, aliases expanded. */
  private readonly nodes: number[] = [0];
  private readonly children: number[] = [0];
  private readonly first: unknown[] = [undefined];
  private depth = 0;
  /** The depth whose next child to close is the value of a merge key, or -1. */
  private mergeValueAt = -1;

  open(state: State): void {
    if (this.depth === 0) {
      this.budget.reset();
      this.anchored.clear();
    }
    if (this.budget.node()) throw new ExcessiveAliasing(state, this.budget);
    const depth = ++this.depth;
    this.nodes[depth] = 0;
    this.children[depth] = 0;
    this.first[depth] = undefined;
  }

  close(state: State): void {
    const depth = this.depth--;
    const parent = this.depth;
    const result: unknown = state.result;
    const budget = this.budget;
    let nodes = 1 + this.nodes[depth]!;
    if (this.children[depth] === 1 && this.first[depth] === result) {
      // js-yaml reads a block sequence's item, or a value on the next line, as a node around
      // the node itself (a block mapping that turned out to be its first key): one node. Its
      // count was taken when it opened, so an alias in it was judged one decode too many:
      // judged again, it is judged as go-yaml judged it.
      nodes--;
      this.uncount(state);
      if (state.anchor !== null && isContainer(result)) this.anchored.set(result, nodes);
    } else if (state.kind === null && state.tag === null && result !== null && result !== undefined) {
      // An alias leaves no kind and no tag, and the anchored value as the result.
      let target = 1;
      if (isContainer(result)) {
        const count = this.anchored.get(result);
        // js-yaml lets `&a [*a]` hold itself; go-yaml refuses it ("anchor 'a' value contains itself").
        if (count === undefined)
          throw new YAMLException("an anchor's value contains an alias of itself", markOf(state));
        target = count;
      }
      if (budget.expand(target)) throw new ExcessiveAliasing(state, budget);
      nodes = 1 + target;
    } else if (state.anchor !== null && isContainer(result)) {
      this.anchored.set(result, nodes);
    }
    if (this.mergeValueAt === parent) {
      this.mergeValueAt = -1;
      if (Array.isArray(result)) {
        nodes--;
        this.uncount(state);
      }
    }
    if (state.tag === MERGE_TAG) {
      nodes = 0;
      this.uncount(state);
      this.mergeValueAt = parent;
    }
    const siblings = this.children[parent]!;
    if (siblings === 0) this.first[parent] = result;
    this.children[parent] = siblings + 1;
    this.nodes[parent] = this.nodes[parent]! + nodes;
  }

  /** A node counted when it opened that go-yaml does not decode; the state it leaves is one go-yaml judged. */
  private uncount(state: State): void {
    this.budget.uncount();
    if (this.budget.exceeded()) throw new ExcessiveAliasing(state, this.budget);
  }
}

function isContainer(value: unknown): value is object {
  return typeof value === "object" && value !== null;
}
