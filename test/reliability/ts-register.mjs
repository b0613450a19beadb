// `node --import ./test/reliability/ts-register.mjs src/main.ts …` runs the sources as they are.
import { register } from "node:module";

register("./ts-hooks.mjs", import.meta.url);
