// loader/fault.ts: what STRATA_FAULT accepts. Killing at the point is what the crash
// tests (test/db/push.crash.test.ts, test/unit/store.file.test.ts) rely on and check.

import t from "tap";
import { FAULT_POINTS, faultPoint, parseFault } from "../../loader/fault.js";

t.test("STRATA_FAULT=<point>:<n>", async (t) => {
  t.equal(parseFault(undefined), undefined, "unset: nothing armed");
  t.equal(parseFault(""), undefined, "empty: nothing armed");
  t.same(parseFault("push.after-pack-registered:3"), { point: "push.after-pack-registered", n: 3, signal: "SIGKILL" });
  t.same(parseFault("file-store.before-rename:1"), { point: "file-store.before-rename", n: 1, signal: "SIGKILL" });
  t.same(parseFault("push.before-commit:2:stop"), { point: "push.before-commit", n: 2, signal: "SIGSTOP" });
  for (const bad of [
    "push.after-pack-registered",
    "push.after-pack-registered:0",
    "push.after-pack-registered:x",
    "no.such-point:1",
    ":1",
    "push.before-commit:1:pause",
  ])
    t.throws(
      () => parseFault(bad),
      { message: /^STRATA_FAULT=.*expected <point>:<n>\[:stop\] with a point among push\.after-pack-registered/ },
      bad,
    );
});

t.test("a point is a no-op when STRATA_FAULT is not set", async (t) => {
  t.equal(process.env.STRATA_FAULT, undefined, "premise: not set in the test process");
  for (const p of FAULT_POINTS) for (let i = 0; i < 5; i++) faultPoint(p);
  t.pass("still alive after passing every point five times");
});
