import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSluiceError } from '../../errors/index.js';
import { applyDefaults } from './defaults.js';
import { parseSpecs } from './parse.js';
import { validateParsedSpec } from './validate.js';

const REDIS = { redis_streams: { url: 'redis://127.0.0.1:6379', stream: 'events' } };

function spec(spout: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ pipeline: { name: 'events' }, spout, ...extra });
}

function accepted(text: string): ReturnType<typeof parseSpecs>[number] {
  const [p] = parseSpecs(text, { file: 'spec.json' });
  assert.ok(p !== undefined);
  const withDefaults = { ...p, spec: applyDefaults(p.spec) };
  validateParsedSpec(withDefaults);
  return withDefaults;
}

function refused(text: string, message: RegExp, field?: string): void {
  try {
    const [p] = parseSpecs(text, { file: 'spec.json' });
    assert.ok(p !== undefined);
    validateParsedSpec(p);
  } catch (err) {
    assert.ok(isSluiceError(err, 'PPS_SPEC_INVALID') || isSluiceError(err, 'PPS_SPEC_SYNTAX'), String(err));
    assert.match(err.message, message);
    if (field !== undefined) assert.equal(err.details?.field, field);
    return;
  }
  assert.fail(`accepted: ${text}`);
}

describe('spec: spout.connector', () => {
  it('accepts a connector spout without a transform, and fills the batch defaults', () => {
    const p = accepted(spec({ connector: REDIS }));
    assert.equal(p.spec.transform, undefined);
    assert.deepEqual(p.spec.spout?.batch, { maxMessages: 1000, maxDelay: '200ms' });
    assert.equal(p.spec.spout?.connector?.format, 'files');
    assert.deepEqual(p.spec.spout?.connector?.redisStreams, { url: 'redis://127.0.0.1:6379', passwordEnv: '', stream: 'events', bodyKey: '', start: '' });
  });

  it('reads lowerCamelCase and YAML spellings', () => {
    const [p] = parseSpecs('pipeline: {name: e}\nspout:\n  connector:\n    natsJetstream: {url: "nats://h:4222", stream: S, start: "5"}\n    format: jsonl\n  batch: {maxMessages: "10", maxDelay: 1s}\n');
    assert.ok(p !== undefined);
    validateParsedSpec(p);
    assert.equal(p.spec.spout?.connector?.natsJetstream?.start, '5');
    assert.deepEqual(p.spec.spout?.batch, { maxMessages: 10, maxDelay: '1s' });
  });

  it('refuses a transform on a connector spout', () => {
    refused(spec({ connector: REDIS }, { transform: { cmd: ['sh'] } }), /a spout with a connector runs no user code: remove "transform"/, 'transform');
  });

  it('still requires a transform without a connector', () => {
    refused(spec({}), /pipeline must specify a transform/, 'transform');
  });

  it('refuses no source, two sources, and a missing required field', () => {
    refused(spec({ connector: {} }), /spout.connector must name one source: one of redis_streams, nats_jetstream, amqp, mqtt, postgres_cdc/);
    refused(spec({ connector: { ...REDIS, mqtt: { url: 'mqtt://h', topic: 't' } } }), /names 2 sources \(redis_streams, mqtt\)/, 'spout.connector.mqtt');
    refused(spec({ connector: { redis_streams: { url: 'redis://h' } } }), /spout.connector.redis_streams.stream is required/, 'spout.connector.redis_streams.stream');
    refused(spec({ connector: { amqp: { url: 'amqp://h' } } }), /spout.connector.amqp.queue is required/);
    refused(spec({ connector: { mqtt: { url: 'mqtt://h' } } }), /spout.connector.mqtt.topic is required/);
  });

  it('refuses bad values with the field named', () => {
    refused(spec({ connector: { redis_streams: { url: '127.0.0.1:6379', stream: 's' } } }), /url must be a URL such as redis:\/\/127.0.0.1:6379/);
    refused(spec({ connector: { ...REDIS, format: 'csv' } }), /format must be "files" \(the default\) or "jsonl", not "csv"/, 'spout.connector.format');
    refused(spec({ connector: { amqp: { url: 'amqp://h', queue: 'q', queue_type: 'fanout' } } }), /queue_type must be "classic" \(the default\), "quorum" or "stream"/);
    refused(spec({ connector: { amqp: { url: 'amqp://h', queue: 'q', start: 'earliest' } } }), /start applies to stream queues only/);
    refused(spec({ connector: { nats_jetstream: { url: 'nats://h', stream: 's', start: 'yesterday' } } }), /start must be "earliest", "latest" or a stream sequence number/);
    refused(spec({ connector: { redis_streams: { url: 'redis://h', stream: 's', password_env: 'not a name' } } }), /password_env must be the name of an environment variable/);
    refused(spec({ connector: REDIS, batch: { max_delay: 'soon' } }), /bad Duration/);
    refused(spec({ connector: REDIS, overwrite: true }), /spout.overwrite does not apply to connector spouts/);
  });

  it('refuses unknown fields with a suggestion, and batch without a connector', () => {
    refused(spec({ connector: { redis_streams: { url: 'redis://h', stream: 's', strem: 'x' } } }), /unknown field "strem".*did you mean "stream"/);
    refused(spec({ batch: { max_messages: 5 } }, { transform: { cmd: ['sh'] } }), /spout.batch applies to connector spouts only/, 'spout.batch');
  });

  it('refuses postgres_cdc, which is not built in yet', () => {
    refused(spec({ connector: { postgres_cdc: { url: 'postgres://h/db', slot: 's', publication: 'p' } } }), /postgres_cdc is not built in yet/);
  });
});
