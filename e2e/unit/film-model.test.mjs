// Unit tests of the film dialog's preview and progress helpers (web/js/film-model.js):
// `node --test e2e/unit`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeLabel, LineSplitter, selectedTimes, thumbTimes, timesPerSpan, timeText, withTime } from '../../web/js/film-model.js';

test('every S seconds: from 0, while before the end (as the server counts)', () => {
  assert.deepEqual(selectedTimes({ mode: 'every', every: '1', hasLog: false }, 4), { times: [0, 1, 2, 3] });
  // ceil(3.5 / 1) = 4 frames, all before the end
  assert.deepEqual(selectedTimes({ mode: 'every', every: '1', hasLog: false }, 3.5), { times: [0, 1, 2, 3] });
  assert.deepEqual(selectedTimes({ mode: 'every', every: '1,5', hasLog: false }, 4).times, [0, 1.5, 3]);
  // longer than the film: the first frame only
  assert.deepEqual(selectedTimes({ mode: 'every', every: '10', hasLog: false }, 4).times, [0]);
  assert.deepEqual(selectedTimes({ mode: 'every', every: '0', hasLog: false }, 4), { times: null });
  assert.deepEqual(selectedTimes({ mode: 'every', every: '', hasLog: false }, 4), { times: null });
  assert.match(selectedTimes({ mode: 'every', every: '0.001', hasLog: false }, 4).error, /4000 frames, more than 2000/);
});

test('N frames: at i · duration / N, the first at the start', () => {
  assert.deepEqual(selectedTimes({ mode: 'count', count: '4', hasLog: false }, 4).times, [0, 1, 2, 3]);
  assert.deepEqual(selectedTimes({ mode: 'count', count: '3', hasLog: false }, 6).times, [0, 2, 4]);
  assert.deepEqual(selectedTimes({ mode: 'count', count: '1', hasLog: false }, 6).times, [0]);
  assert.deepEqual(selectedTimes({ mode: 'count', count: '2.5', hasLog: false }, 6), { times: null });
  assert.deepEqual(selectedTimes({ mode: 'count', count: '0', hasLog: false }, 6), { times: null });
});

test('at times: sorted, without repeats, none past the end', () => {
  assert.deepEqual(selectedTimes({ mode: 'at', at: '2.5, 0.5;1.5 0.5', hasLog: false }, 4).times, [0.5, 1.5, 2.5]);
  assert.deepEqual(selectedTimes({ mode: 'at', at: '4', hasLog: false }, 4).times, [4]);
  assert.match(selectedTimes({ mode: 'at', at: '1, 4.5', hasLog: false }, 4).error, /4\.5 s is past the end of the film \(4\.000 s\)/);
  assert.deepEqual(selectedTimes({ mode: 'at', at: '', hasLog: false }, 4), { times: null });
  assert.deepEqual(selectedTimes({ mode: 'at', at: '1, x', hasLog: false }, 4), { times: null });
});

test('the log’s rows and unknown durations are not previewed', () => {
  assert.deepEqual(selectedTimes({ mode: 'log', step: '0', hasLog: true }, 4), { times: null });
  assert.deepEqual(selectedTimes({ mode: 'count', count: '3', hasLog: false }, NaN), { times: null });
  assert.deepEqual(selectedTimes({ mode: 'count', count: '3', hasLog: false }, 0), { times: null });
  assert.deepEqual(selectedTimes({ mode: 'count', count: '3', hasLog: false }, Infinity), { times: null });
});

test('thumbnails sit in the middle of equal spans', () => {
  assert.deepEqual(thumbTimes(4, 4), [0.5, 1.5, 2.5, 3.5]);
  assert.deepEqual(thumbTimes(10, 2), [2.5, 7.5]);
  assert.deepEqual(thumbTimes(0, 4), []);
  assert.deepEqual(thumbTimes(4, 0), []);
});

test('selected times are counted per thumbnail span, the end in the last', () => {
  assert.deepEqual(timesPerSpan([0, 0.5, 1, 3.9, 4], 4, 4), [2, 1, 0, 2]);
  assert.deepEqual(timesPerSpan([0.5, 1.5, 2.5, 3.5], 4, 2), [2, 2]);
  assert.deepEqual(timesPerSpan([-1, 5, NaN], 4, 2), [0, 0]);
  assert.deepEqual(timesPerSpan([1], 0, 3), [0, 0, 0]);
});

test('adding the slider’s time to the list', () => {
  assert.equal(timeText(1.23456), '1.235');
  assert.equal(timeText(3), '3');
  assert.equal(withTime('', 1.5), '1.5');
  assert.equal(withTime('2.5, 0.5', 1.5), '0.5, 1.5, 2.5');
  assert.equal(withTime('0.5;1.5', 1.5), '0.5, 1.5', 'no repeat');
  assert.equal(withTime('1, nonsense', 0.1234), '0.123, 1', 'what cannot be read is dropped');
});

test('NDJSON lines split across chunks come out whole, once', () => {
  const s = new LineSplitter();
  assert.deepEqual(s.push('{"a":1}\n{"b"'), ['{"a":1}']);
  assert.deepEqual(s.push(':2'), []);
  assert.deepEqual(s.push('}\n\n{"c":3}\r\n{"d"'), ['{"b":2}', '{"c":3}']);
  assert.deepEqual(s.push(':4}'), []);
  assert.deepEqual(s.end(), ['{"d":4}']);
  assert.deepEqual(s.end(), []);
  const t = new LineSplitter();
  const text = '{"event":"progress","done":1,"total":2,"time_s":0.5}\n{"event":"done","result":{}}\n';
  const got = [];
  for (const ch of text) got.push(...t.push(ch)); // one character at a time
  got.push(...t.end());
  assert.deepEqual(got.map((l) => JSON.parse(l).event), ['progress', 'done']);
});

test('the decoding label', () => {
  assert.equal(decodeLabel({ done: 3, total: 12, time_s: 2.54 }), 'Decoding frame 3 of 12 (2.5 s)');
  assert.equal(decodeLabel({ done: 1, total: 1 }), 'Decoding frame 1 of 1');
});

test('the preview needs media-src (or default-src) to allow blob:', async () => {
  const { cspAllowsBlobMedia } = await import('../../web/js/film-model.js');
  assert.equal(cspAllowsBlobMedia(null), true);
  assert.equal(cspAllowsBlobMedia(''), true);
  assert.equal(cspAllowsBlobMedia("default-src 'self'; img-src 'self' data: blob:"), false);
  assert.equal(cspAllowsBlobMedia("default-src 'self'; media-src 'self' blob:; img-src blob:"), true);
  assert.equal(cspAllowsBlobMedia("default-src 'self' blob:"), true);
  assert.equal(cspAllowsBlobMedia("default-src *"), false, 'a wildcard does not cover blob:');
  assert.equal(cspAllowsBlobMedia("script-src 'self'"), true, 'no media-src nor default-src');
  assert.equal(cspAllowsBlobMedia("MEDIA-SRC BLOB:"), true);
  assert.equal(cspAllowsBlobMedia("media-src blob:, default-src 'self'"), false, 'every policy must allow it');
});

test('the film endpoint’s NDJSON lines become events', async () => {
  const { parseFilmEvent } = await import('../../web/js/film-model.js');
  assert.deepEqual(parseFilmEvent('{"event":"progress","done":3,"total":12,"time_s":1.25}'), { kind: 'progress', done: 3, total: 12, time_s: 1.25 });
  assert.deepEqual(parseFilmEvent('{"event":"progress","done":1,"total":2}'), { kind: 'progress', done: 1, total: 2 });
  assert.deepEqual(parseFilmEvent('{"event":"done","result":{"images":[1]}}'), { kind: 'done', result: { images: [1] } });
  assert.deepEqual(parseFilmEvent('{"event":"error","status":422,"error":{"error":"frame 3: cannot decode","field":"video"}}'), {
    kind: 'error',
    status: 422,
    message: 'frame 3: cannot decode',
    body: { error: 'frame 3: cannot decode', field: 'video' },
  });
  assert.equal(parseFilmEvent('{"event":"error","error":"boom"}').status, 500);
  assert.equal(parseFilmEvent('{"event":"error","error":"boom"}').message, 'boom');
  assert.deepEqual(parseFilmEvent('not json'), { kind: 'unknown', line: 'not json' });
  assert.deepEqual(parseFilmEvent('{"event":"progress","done":"x","total":2}').kind, 'unknown');
  assert.deepEqual(parseFilmEvent('{"event":"later"}').kind, 'unknown');
});

test('the later stages of the import: events and labels', async () => {
  const { parseFilmEvent, stageLabel } = await import('../../web/js/film-model.js');
  assert.deepEqual(parseFilmEvent('{"event":"progress","stage":"detect","frames":4}'), { kind: 'stage', stage: 'detect', frames: 4 });
  assert.deepEqual(parseFilmEvent('{"event":"progress","stage":"decode","done":1,"total":4,"time_s":0.5}'), { kind: 'progress', done: 1, total: 4, time_s: 0.5 });
  assert.equal(parseFilmEvent('{"event":"progress","stage":"detect"}').kind, 'unknown');
  assert.equal(stageLabel('detect', 4, 'a.mp4'), 'Detecting the markers in the 4 frames of a.mp4…');
  assert.equal(stageLabel('encode', 1, 'a.mp4'), 'Saving the 1 frame of a.mp4…');
  assert.equal(stageLabel('later', 2, 'a.mp4'), 'Working on the 2 frames of a.mp4…');
});
