// Worker entry: the row hashes and the SHA-256 of one tabular file (see fileRows). Started
// by loader/push/tabular.ts through moduleWorker, so big tables hash on other cores.

import { parentPort, workerData } from "node:worker_threads";
import { fileRows } from "./rows.js";

const { abs, name } = (workerData as { input: { abs: string; name: string } }).input;
const r = await fileRows(abs, name);
parentPort!.postMessage(r, r.rows ? [r.rows.hashes.buffer as ArrayBuffer] : []);
