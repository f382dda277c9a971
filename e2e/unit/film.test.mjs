// Unit tests of the film upload's pure parts (web/js/film-model.js): `node --test e2e/unit`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileKind, filmFields, isOfType } from '../../web/js/film-model.js';

// GET /api/rules' `uploads` (the shape the server sends)
const UPLOADS = {
  images: { names: ['PNG'], extensions: ['png'], mime_types: ['image/png'], accept: 'image/png,.png' },
  films: { names: ['MP4', 'MKV'], extensions: ['mp4', 'mov', 'mkv'], mime_types: ['video/mp4', 'video/x-matroska'], accept: 'video/mp4,.mp4,.mov,.mkv' },
  logs: { names: ['CSV'], extensions: ['csv', 'txt'], mime_types: ['text/csv'], accept: '.csv,.txt,text/csv' },
};

test('films, logs and other files are told apart by the server’s extensions and types', () => {
  assert.equal(fileKind({ name: 'test.MP4' }, UPLOADS), 'film');
  assert.equal(fileKind({ name: 'a.mov' }, UPLOADS), 'film');
  assert.equal(fileKind({ name: 'clip', type: 'video/x-matroska' }, UPLOADS), 'film');
  assert.equal(fileKind({ name: 'machine.csv' }, UPLOADS), 'log');
  assert.equal(fileKind({ name: 'machine.TXT' }, UPLOADS), 'log');
  assert.equal(fileKind({ name: 'data', type: 'text/csv' }, UPLOADS), 'log');
  assert.equal(fileKind({ name: 'photo.png', type: 'image/png' }, UPLOADS), 'other');
  // only what the server lists: a .webm is not a film for this server
  assert.equal(fileKind({ name: 'a.webm', type: '' }, UPLOADS), 'other');
  // a server without the lists: nothing is a film or a log
  assert.equal(fileKind({ name: 'a.mp4' }, { images: UPLOADS.images }), 'other');
});

test('a type matches by the last extension only, never by an empty one', () => {
  assert.equal(isOfType({ name: 'x.csv.png' }, UPLOADS.logs), false);
  assert.equal(isOfType({ name: 'x.png.csv' }, UPLOADS.logs), true);
  assert.equal(isOfType({ name: 'csv' }, UPLOADS.logs), false);
  assert.equal(isOfType({ name: 'x.' }, { ...UPLOADS.logs, extensions: [''] }), false);
  assert.equal(isOfType({ name: 'x.csv' }, undefined), false);
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
