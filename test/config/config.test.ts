import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyEnvOverrides, defaultConfig, loadConfig, ConfigError, parseConfigText, validateConfig } from '../../config/index.js';
import { runCli } from '../support/cli.js';

describe('config', () => {
  it('has defaults for everything', () => {
    const c = defaultConfig();
    assert.equal(c.instrument.id, 'gemxrf-1');
    assert.equal(c.histogram.channels, 256);
    assert.equal(c.mqtt.url, null);
    assert.equal(c.detector.channelMap.length, 8);
    assert.equal(c.simulator.phantom, 'phantom-painting');
  });

  it('names the key path and reason of every problem', () => {
    const r = validateConfig({ histogram: { channels: 4, bogus: 1 }, detector: { width: 'wide' }, mqtt: { protocolVersion: 3 } });
    assert.equal(r.ok, false);
    if (r.ok) return;
    const lines = r.problems.map((p) => `${p.path}: ${p.reason}`);
    assert.ok(lines.some((l) => l.startsWith('histogram.bogus: unknown key')), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith('histogram.channels: out of range: must be >= 16')), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith('detector.width: wrong type: expected number, got string')), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith('mqtt.protocolVersion:')), lines.join('\n'));
  });

  it('names .nan and .inf rather than "expected number, got number" (regression)', () => {
    const { raw } = parseConfigText('histogram:\n  channels: .nan\ndetector:\n  width: .inf\n  height: -.inf\n');
    const r = validateConfig(raw);
    assert.equal(r.ok, false);
    if (r.ok) return;
    const lines = r.problems.map((p) => `${p.path}: ${p.reason}`);
    assert.ok(lines.includes('histogram.channels: wrong type: expected number, got NaN'), lines.join('\n'));
    assert.ok(lines.includes('detector.width: wrong type: expected number, got Infinity'), lines.join('\n'));
    assert.ok(lines.includes('detector.height: wrong type: expected number, got -Infinity'), lines.join('\n'));
  });

  it('maps.workerTimeoutSeconds: 60 s by default, must be > 0', () => {
    assert.equal(defaultConfig().maps.workerTimeoutSeconds, 60);
    for (const bad of [0, -1]) {
      const r = validateConfig({ maps: { workerTimeoutSeconds: bad } });
      assert.equal(r.ok, false);
      if (r.ok) return;
      assert.ok(r.problems.some((p) => p.path === 'maps.workerTimeoutSeconds'), JSON.stringify(r.problems));
    }
    assert.ok(validateConfig({ maps: { workerTimeoutSeconds: 0.5 } }).ok);
  });

  it('rejects an unknown section and a reversed energy range', () => {
    const r = validateConfig({ detectr: {}, histogram: { eMinKeV: 10, eMaxKeV: 5 } });
    assert.equal(r.ok, false);
    if (r.ok) return;
    const paths = r.problems.map((p) => p.path);
    assert.ok(paths.includes('detectr'));
    assert.ok(paths.includes('histogram.eMaxKeV'));
  });

  it('rejects a reversed reconnect backoff and a reversed charge-ratio window, naming the path', () => {
    const r = validateConfig({ source: { reconnectMinMs: 5000, reconnectMaxMs: 1000 }, formation: { chargeRatioMin: 3, chargeRatioMax: 2 } });
    assert.equal(r.ok, false);
    if (r.ok) return;
    const lines = r.problems.map((p) => `${p.path}: ${p.reason}`);
    assert.ok(lines.some((l) => l.startsWith('source.reconnectMaxMs: reconnectMaxMs must be at least reconnectMinMs')), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith('formation.chargeRatioMax: chargeRatioMax must be at least chargeRatioMin')), lines.join('\n'));
    assert.ok(validateConfig({ source: { reconnectMinMs: 1000, reconnectMaxMs: 1000 }, formation: { chargeRatioMin: 1, chargeRatioMax: 1 } }).ok);
  });

  it('applies GEMXRF_<PATH> environment overrides, typed', () => {
    const raw: Record<string, unknown> = { mqtt: { baseTopic: 'lab' } };
    applyEnvOverrides(raw, { GEMXRF_MQTT_URL: 'mqtt://broker:1883', GEMXRF_STORAGE_DATA_DIR: '/srv/x', GEMXRF_HISTOGRAM_CHANNELS: '512', GEMXRF_DEBUG: '1' });
    const r = validateConfig(raw);
    assert.ok(r.ok);
    if (!r.ok) return;
    assert.equal(r.config.mqtt.url, 'mqtt://broker:1883');
    assert.equal(r.config.mqtt.baseTopic, 'lab');
    assert.equal(r.config.storage.dataDir, '/srv/x');
    assert.equal(r.config.histogram.channels, 512);
  });

  it('takes a string key\'s variable as its text (digits, #, yes), and still types numbers, booleans, arrays', () => {
    const { config } = loadConfig({
      env: {
        GEMXRF_INSTRUMENT_ID: '2024',
        GEMXRF_MQTT_USERNAME: '007',
        GEMXRF_MQTT_PASSWORD: 'pa #ss: 1',
        GEMXRF_STORAGE_DATA_DIR: '/srv/xrf #2',
        GEMXRF_SIMULATOR_PHANTOM: 'yes',
        GEMXRF_HTTP_ENABLED: 'false',
        GEMXRF_MAPS_METHODS: '[roi, fit]',
        GEMXRF_MQTT_EMBEDDED_PORT: '1999',
      },
    });
    assert.equal(config.instrument.id, '2024');
    assert.equal(config.mqtt.username, '007');
    assert.equal(config.mqtt.password, 'pa #ss: 1');
    assert.equal(config.storage.dataDir, '/srv/xrf #2');
    assert.equal(config.simulator.phantom, 'yes');
    assert.equal(config.http.enabled, false);
    assert.deepEqual(config.maps.methods, ['roi', 'fit']);
    assert.equal(config.mqtt.embedded.port, 1999);
    // null still resets a nullable key (an external broker URL back to the embedded broker).
    assert.equal(loadConfig({ env: { GEMXRF_MQTT_URL: 'null' } }).config.mqtt.url, null);
  });

  it('names a GEMXRF_ variable that matches no key of a known section, and ignores the CLI\'s own', () => {
    assert.throws(
      () => loadConfig({ env: { GEMXRF_MQTT_URLL: 'mqtt://x:1883', GEMXRF_DEBUG: '1', GEMXRF_TEST_COUNTS: '5' } }),
      (e: unknown) => e instanceof ConfigError && e.problems.length === 1 && e.problems[0]!.path === 'GEMXRF_MQTT_URLL' && /not a configuration key/.test(e.problems[0]!.reason),
    );
    assert.doesNotThrow(() => loadConfig({ env: { GEMXRF_DEBUG: '1', GEMXRF_FROM_SOURCE: '1', GEMXRF_TEST_VERBOSE: '1' } }));
  });

  it('loadConfig throws ConfigError for a bad file and reads a good one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gemxrf-cfg-'));
    const good = join(dir, 'good.yaml');
    writeFileSync(good, 'instrument:\n  id: lab-2\nhistogram:\n  channels: 128\n');
    const { config } = loadConfig({ file: good, env: {} });
    assert.equal(config.instrument.id, 'lab-2');
    assert.equal(config.histogram.channels, 128);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'instrument:\n  id: "has space"\n');
    assert.throws(() => loadConfig({ file: bad, env: {} }), (e: unknown) => e instanceof ConfigError && e.problems[0]!.path === 'instrument.id');
  });

  it('a key or value with a newline or other control character stays on its problem\'s one line (regression)', () => {
    const r = validateConfig({
      histogram: { 'a\nb': 1, 'tab\there': 2, '"q': 3, '': 4, 'ok key': 5, 'esc\u001b[31m': 6 },
      instrument: { id: 'x\ny\u2028' },
      'sec\u2028tion': {},
      mqtt: { protocolVersion: 'v\u0085' },
    });
    assert.equal(r.ok, false);
    if (r.ok) return;
    const lines = r.problems.map((p) => `${p.path}: ${p.reason}`);
    const all = lines.join('\n');
    // The odd key is JSON-quoted, so it reads back with JSON.parse; a plain one is shown as it is.
    assert.ok(lines.includes('histogram."a\\nb": unknown key'), all);
    assert.ok(lines.includes('histogram."tab\\there": unknown key'), all);
    assert.ok(lines.includes('histogram."esc\\u001b[31m": unknown key'), all);
    assert.ok(lines.includes('histogram."\\"q": unknown key'), all);
    assert.ok(lines.includes('histogram."": unknown key'), all);
    assert.ok(lines.includes('histogram.ok key: unknown key'), all);
    assert.ok(lines.includes('"sec\\u2028tion": unknown key'), all);
    assert.ok(lines.some((l) => l.startsWith('instrument.id: ') && l.includes('(got "x\\ny\\u2028")')), all);
    assert.ok(lines.some((l) => l.startsWith('mqtt.protocolVersion: ') && l.includes('"v\\u0085"')), all);
    for (const l of lines) assert.doesNotMatch(l, /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/, JSON.stringify(l));
    const env = applyEnvOverrides({}, { 'GEMXRF_MQTT_X\nY': '1' });
    assert.deepEqual(env.map((p) => p.path), ['GEMXRF_MQTT_X\\nY']);
  });

  it('gemxrf config check: a YAML key with a newline or an escape sequence is one line each', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gemxrf-cfg-'));
    const file = join(dir, 'keys.yaml');
    writeFileSync(file, 'histogram:\n  "bad\\nkey": 1\n  "\\e[31mred": 2\ndetector:\n  width: "wide\\r\\nload"\n');
    const r = runCli(['config', 'check', file]);
    assert.equal(r.status, 1, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.deepEqual(lines.slice().sort(), ['detector.width: wrong type: expected number, got string', 'histogram."\\u001b[31mred": unknown key', 'histogram."bad\\nkey": unknown key'].sort(), r.stdout);
  });

  it('gemxrf config check prints ok, or the problems and exits 1', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gemxrf-cfg-'));
    const good = join(dir, 'good.yaml');
    writeFileSync(good, 'detector:\n  width: 64\n  height: 64\n');
    const ok = runCli(['config', 'check', good]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(ok.stdout.trim(), 'ok');
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'detector:\n  width: -3\n  colour: red\nsimulator:\n  level: photons\n');
    const r = runCli(['config', 'check', bad]);
    assert.equal(r.status, 1);
    const lines = r.stdout.trim().split('\n');
    assert.ok(lines.some((l) => l.startsWith('detector.width: out of range')), r.stdout);
    assert.ok(lines.some((l) => l === 'detector.colour: unknown key'), r.stdout);
    assert.ok(lines.some((l) => l.startsWith('simulator.level: must be one of "events", "hits"')), r.stdout);
    const syntax = join(dir, 'syntax.yaml');
    writeFileSync(syntax, 'detector: [unclosed\n');
    assert.equal(runCli(['config', 'check', syntax]).status, 1);
  });

  it('says a required key is missing rather than of the wrong type', () => {
    const r = validateConfig({ detector: { channelMap: [{ strips: [0, 63], plane: 0, firstStrip: 0 }] } });
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.ok(r.problems.some((q) => /^detector\.channelMap\.0\.\w+$/.test(q.path) && /^missing: expected /.test(q.reason)), JSON.stringify(r.problems));
    assert.ok(!r.problems.some((q) => /got undefined/.test(q.reason)), JSON.stringify(r.problems));
  });

  it('shows a long offending value cut to a line, not whole', () => {
    const r = validateConfig({ log: { level: 'x'.repeat(100_000) } });
    assert.equal(r.ok, false);
    if (r.ok) return;
    const p = r.problems.find((q) => q.path === 'log.level');
    assert.ok(p, JSON.stringify(r.problems).slice(0, 300));
    assert.ok(p.reason.length < 400, `reason of ${p.reason.length} characters`);
    assert.match(p.reason, /\(got "xxx+\.\.\.\)/);
  });

  it('gemxrf config show prints the effective config with environment overrides', () => {
    const r = runCli(['config', 'show', '--json'], { env: { GEMXRF_INSTRUMENT_ID: 'env-id' } });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).instrument.id, 'env-id');
  });
});
