// Mocha's spec reporter plus the closing line CI reads: "tests: N passed, N failed".
'use strict';
const Mocha = require('mocha');
const { EVENT_RUN_END } = Mocha.Runner.constants;

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(EVENT_RUN_END, () => {
      const s = runner.stats || { passes: 0, failures: 0, pending: 0 };
      const skipped = s.pending ? `, ${s.pending} skipped` : '';
      // Printed after the spec summary so it is the last line of the run.
      process.on('exit', () => console.log(`tests: ${s.passes} passed, ${s.failures} failed${skipped}`));
    });
  }
}
module.exports = SummaryReporter;
