import type { ASTNode, TypeDeclaration } from "@marcbachmann/cel-js";
import { celError, type Checker, type Macro, type MarkableNode } from "./methods.js";

/**
 * What cel-js has and the apiserver's environment does not: cel.bind (ext.Bindings is not in the
 * base environment) and cel-js's own methods on bytes (hex, base64, json, at, string). A policy that
 * uses them would be refused by the apiserver, so it is refused here too, when it is compiled.
 */

const BYTES_METHODS = new Set(["hex", "base64", "json", "at", "string"]);

class Undeclared implements Macro {
  readonly async = false;

  constructor(
    private readonly name: string,
    private readonly node: ASTNode,
  ) {}

  typeCheck(checker: Checker): TypeDeclaration {
    throw checker.createError("undeclared_reference", `undeclared reference to '${this.name}'`, this.node);
  }

  evaluate(): unknown {
    throw celError(`undeclared reference to '${this.name}'`);
  }
}

/** Marks, in a parsed expression, the calls of what the apiserver does not have. */
export function markUnavailable(ast: ASTNode): void {
  const stack: unknown[] = [ast];
  while (stack.length > 0) {
    const item = stack.pop();
    if (Array.isArray(item)) {
      stack.push(...(item as unknown[]));
      continue;
    }
    if (typeof item !== "object" || item === null || !("op" in item) || !("args" in item)) continue;
    const node = item as ASTNode;
    if (node.op === "rcall") {
      const [name, receiver] = node.args;
      const unavailable =
        BYTES_METHODS.has(name) || (name === "bind" && receiver.op === "id" && receiver.args === "cel");
      if (unavailable) {
        const what = name === "bind" ? "cel" : name;
        (node as unknown as MarkableNode)
          .setMeta("macro", new Undeclared(what, node))
          .setMeta("async", false);
      }
    }
    stack.push(node.args);
  }
}
