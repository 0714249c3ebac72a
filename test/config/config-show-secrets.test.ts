// `gemxrf config show` masks the broker passwords (its output gets pasted into tickets), unless asked.
import assert from 'node:assert/strict';
import { runCli } from '../support/cli.js';

describe('gemxrf config show: secrets', () => {
  const env = { GEMXRF_MQTT_PASSWORD: 's3cret-broker', GEMXRF_MQTT_EMBEDDED_PASSWORD: 's3cret-embedded' };

  it('masks mqtt.password and mqtt.embedded.password by default (YAML and JSON)', () => {
    for (const args of [['config', 'show'], ['config', 'show', '--json']]) {
      const r = runCli(args, { env });
      assert.equal(r.status, 0, r.stderr);
      assert.doesNotMatch(r.stdout, /s3cret/);
    }
    const json = JSON.parse(runCli(['config', 'show', '--json'], { env }).stdout) as { mqtt: { password: string; embedded: { password: string } } };
    assert.equal(json.mqtt.password, '***');
    assert.equal(json.mqtt.embedded.password, '***');
  });

  it('--show-secrets prints them as configured', () => {
    const r = runCli(['config', 'show', '--json', '--show-secrets'], { env });
    assert.equal(r.status, 0, r.stderr);
    const json = JSON.parse(r.stdout) as { mqtt: { password: string; embedded: { password: string } } };
    assert.equal(json.mqtt.password, 's3cret-broker');
    assert.equal(json.mqtt.embedded.password, 's3cret-embedded');
  });
});
