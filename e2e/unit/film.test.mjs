// Unit tests of the film upload's pure parts (web/js/film.js): `node --test e2e/unit`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileKind, filmFields } from '../../web/js/film.js';

test('films, logs and other files are told apart by name and type', () => {
  assert.equal(fileKind({ name: 'test.MP4' }), 'film');
  assert.equal(fileKind({ name: 'a.mov' }), 'film');
  assert.equal(fileKind({ name: 'clip', type: 'video/x-matroska' }), 'film');
  assert.equal(fileKind({ name: 'machine.csv' }), 'log');
  assert.equal(fileKind({ name: 'machine.TXT' }), 'log');
  assert.equal(fileKind({ name: 'photo.png', type: 'image/png' }), 'other');
});

test('each way of choosing frames gives its field', () => {
  assert.deepEqual(filmFields({ mode: 'every', every: '2,5', hasLog: false }), [['every', '2.5']]);
  assert.deepEqual(filmFields({ mode: 'count', count: '7', hasLog: false }), [['count', '7']]);
  assert.deepEqual(filmFields({ mode: 'at', at: '0.5, 1.5;2.5  3', hasLog: false }), [['at', '0.5,1.5,2.5,3']]);
  assert.deepEqual(filmFields({ mode: 'log', step: '0.5', hasLog: true }), [['log_step', '0.5']]);
  assert.deepEqual(filmFields({ mode: 'log', step: '', hasLog: true }), []);
});

test('the offset and the log columns go along only when given', () => {
  assert.deepEqual(
    filmFields({ mode: 'every', every: '1', offset: '-1,25', hasLog: true, columns: { time: 'Zeit', displacement: ' 2 ', force: '' } }),
    [['every', '1'], ['log_offset', '-1.25'], ['log_time_column', 'Zeit'], ['log_displacement_column', '2']],
  );
  assert.deepEqual(filmFields({ mode: 'every', every: '1', offset: '0', hasLog: false, columns: { time: 'Zeit' } }), [['every', '1']]);
});

test('wrong choices are refused with what to fix', () => {
  assert.throws(() => filmFields({ mode: 'every', every: '0', hasLog: false }), /positive/);
  assert.throws(() => filmFields({ mode: 'every', every: 'x', hasLog: false }), /positive/);
  assert.throws(() => filmFields({ mode: 'count', count: '2.5', hasLog: false }), /whole number/);
  assert.throws(() => filmFields({ mode: 'count', count: '5000', hasLog: false }), /2000/);
  assert.throws(() => filmFields({ mode: 'at', at: ' ', hasLog: false }), /times/);
  assert.throws(() => filmFields({ mode: 'at', at: '1, -2', hasLog: false }), /-2/);
  assert.throws(() => filmFields({ mode: 'log', hasLog: false }), /need a log/);
  assert.throws(() => filmFields({ mode: 'log', step: '-1', hasLog: true }), /0 mm or more/);
  assert.throws(() => filmFields({ mode: 'every', every: '1', offset: 'soon', hasLog: true }), /offset/);
});
