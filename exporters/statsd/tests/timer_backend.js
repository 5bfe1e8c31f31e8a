// A statsd backend for the tests: at every flush, adds each timer's
// statistics as the daemon computed them (count, upper, lower, sum, and
// the samples it kept) to running totals over all flushes, and writes the
// totals to `config.timerOutput`, one timer a line:
// name<TAB>count<TAB>upper<TAB>lower<TAB>sum<TAB>samples.
const fs = require('fs');

exports.init = function (startupTime, config, events) {
  const out = config.timerOutput;
  const totals = {};
  events.on('flush', function (timestamp, metrics) {
    for (const key in metrics.timer_data) {
      const d = metrics.timer_data[key];
      const samples = (metrics.timers[key] || []).length;
      if (!samples) {
        continue;
      }
      const t = totals[key] || (totals[key] = {
        count: 0, upper: -Infinity, lower: Infinity, sum: 0, samples: 0,
      });
      t.count += d.count;
      t.upper = Math.max(t.upper, d.upper);
      t.lower = Math.min(t.lower, d.lower);
      t.sum += d.sum;
      t.samples += samples;
    }
    const lines = Object.keys(totals).sort().map(function (k) {
      const t = totals[k];
      return [k, t.count, t.upper, t.lower, t.sum, t.samples].join('\t');
    });
    fs.writeFileSync(out + '.tmp', lines.join('\n') + '\n');
    fs.renameSync(out + '.tmp', out);
  });
  return true;
};
