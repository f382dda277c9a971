// @ts-check
// The film dialog's preview (film.js): the chosen local film in a hidden <video> (a blob: URL,
// nothing is uploaded), a strip of thumbnails over its whole length marking the frames the
// current choice takes, and a time slider with the frame at its time, which can be added to the
// "at" times. When the browser cannot decode the film (HEVC, MJPEG AVI…), or the page's
// security policy does not let it play local files, the preview says so and the frames are
// chosen by numbers as before. The logic (times, spans) is in film-model.js.
import { h, icon } from './dom.js';
import { cspAllowsBlobMedia, thumbTimes, timesPerSpan } from './film-model.js';

/** Thumbnails in the strip. */
const THUMBS = 10;
/** How long the browser may take to read the film's header before the preview gives up. */
const METADATA_TIMEOUT_MS = 5000;
/** How long one seek may take. */
const SEEK_TIMEOUT_MS = 4000;

/** Whether the page's Content-Security-Policy lets a <video> play a blob: URL. */
async function pageAllowsBlobMedia() {
  const meta = document.querySelector('meta[http-equiv="Content-Security-Policy" i]');
  if (meta && !cspAllowsBlobMedia(meta.getAttribute('content'))) return false;
  try {
    const res = await fetch('./', { method: 'HEAD', cache: 'no-store' });
    return cspAllowsBlobMedia(res.headers.get('content-security-policy'));
  } catch {
    return false;
  }
}

/**
 * Resolve when `target` fires `ok`, reject on `fail` or after `ms`.
 * @param {EventTarget} target
 * @param {string} ok
 * @param {string} fail
 * @param {number} ms
 */
function once(target, ok, fail, ms) {
  return new Promise((resolve, reject) => {
    const done = (fn, v) => {
      clearTimeout(timer);
      target.removeEventListener(ok, onOk);
      target.removeEventListener(fail, onFail);
      fn(v);
    };
    const onOk = () => done(resolve, undefined);
    const onFail = () => done(reject, new Error(fail));
    const timer = setTimeout(() => done(reject, new Error('timeout')), ms);
    target.addEventListener(ok, onOk);
    target.addEventListener(fail, onFail);
  });
}

/**
 * @param {File} film
 * @param {{selection: (duration: number) => number[] | null, onAddTime: (t: number) => void, maxSeconds?: number | null}} o
 *   `selection(duration)` gives the times the dialog's choice takes now (null: not shown, e.g.
 *   the log's rows); `onAddTime(t)` adds the slider's time to the "at" times; `maxSeconds` is
 *   the longest film the server takes (GET /api/rules), if it says.
 */
export function filmPreview(film, { selection, onAddTime, maxSeconds = null }) {
  const status = h('p.small.muted.film-preview-status', { id: 'film-preview-status', role: 'status' }, 'Reading the film in this browser for a preview…');
  const thumbs = thumbTimes(1, THUMBS).map((_, i) => h('canvas.film-thumb', { width: '96', height: '54', dataset: { index: i } }));
  const marks = h('div.film-marks', { 'aria-hidden': 'true' });
  const strip = h('div.film-strip', { id: 'film-strip', hidden: true, title: 'The film from start to end; marked: the frames the choice takes' }, ...thumbs, marks);
  const frame = h('canvas.film-frame', { id: 'film-frame', width: '320', height: '180', 'aria-label': 'The frame at the slider’s time' });
  const slider = h('input.film-slider', { type: 'range', id: 'film-time', min: '0', max: '1', step: '0.01', props: { value: '0' }, 'aria-label': 'Time in the film, seconds' });
  const timeLabel = h('span.small.film-time-label', { id: 'film-time-label' }, '');
  const add = h('button.btn.small', { type: 'button', id: 'film-add-time', title: 'Add this time to “At … s”' }, icon('plus'), 'Add this time');
  const scrub = h('div.film-scrub', { hidden: true }, frame, h('div.film-scrub-controls', null, slider, timeLabel, add));
  const el = h('div.film-preview', { id: 'film-preview' }, status, strip, scrub);

  const video = /** @type {HTMLVideoElement} */ (h('video', { muted: true, preload: 'auto', playsinline: true, hidden: true }));
  video.muted = true;
  let url = '';
  let duration = 0;
  let closed = false;
  /** @type {Promise<void>} seeks one after the other */
  let queue = Promise.resolve();
  let wanted = 0;

  const fail = (why) => {
    status.textContent = `No preview: ${why} Choose the frames by their times or number below; the server reads the film itself.`;
    status.classList.add('film-preview-off');
    strip.hidden = true;
    scrub.hidden = true;
    el.dataset.state = 'off';
  };

  /** Seek the video to `t` and draw the frame into `canvas`. */
  const drawAt = async (t, canvas) => {
    if (closed) return;
    video.currentTime = Math.min(Math.max(0, t), Math.max(0, duration - 1e-3));
    await once(video, 'seeked', 'error', SEEK_TIMEOUT_MS);
    const ctx = canvas.getContext('2d');
    if (!ctx || closed) return;
    ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
  };
  const enqueue = (fn) => {
    queue = queue.then(fn, fn);
    return queue;
  };

  const showSlider = () => {
    const t = Number(slider.value);
    timeLabel.textContent = `${t.toFixed(2)} s of ${duration.toFixed(2)} s`;
    wanted = t;
    enqueue(async () => {
      if (wanted !== t) return; // a later move of the slider wins
      try {
        await drawAt(t, frame);
      } catch {
        /* a failed seek leaves the last frame */
      }
    });
  };

  /** Mark the thumbnails whose span holds a chosen frame, and each chosen time on the strip. */
  const update = () => {
    if (!duration) return;
    const times = selection(duration);
    const counts = times ? timesPerSpan(times, duration, THUMBS) : new Array(THUMBS).fill(0);
    thumbs.forEach((c, i) => {
      c.classList.toggle('picked', counts[i] > 0);
      c.title = counts[i] ? `${counts[i]} frame${counts[i] === 1 ? '' : 's'} chosen here` : '';
    });
    marks.replaceChildren(
      ...(times ?? []).slice(0, 400).map((t) => {
        const m = h('span.film-mark');
        m.style.left = `${(100 * t) / duration}%`;
        return m;
      }),
    );
    el.dataset.chosen = String(times ? times.length : '');
  };

  const start = async () => {
    if (!(await pageAllowsBlobMedia())) {
      fail('this server’s security policy does not let the page play local films (it needs media-src blob:).');
      return;
    }
    if (closed) return;
    const type = film.type || '';
    if (type && video.canPlayType(type) === '') {
      fail(`this browser cannot play ${type} films.`);
      return;
    }
    url = URL.createObjectURL(film);
    document.body.appendChild(video);
    video.src = url;
    try {
      await once(video, 'loadeddata', 'error', METADATA_TIMEOUT_MS);
    } catch {
      if (!closed) fail(video.error ? 'this browser cannot decode this film (its codec or container).' : 'this browser did not read the film within a few seconds.');
      return;
    }
    duration = video.duration;
    if (!Number.isFinite(duration) || duration <= 0 || !video.videoWidth) {
      fail('this browser cannot tell the film’s length or size.');
      return;
    }
    const aspect = video.videoHeight / video.videoWidth;
    for (const c of thumbs) c.height = Math.max(1, Math.round(c.width * aspect));
    frame.height = Math.max(1, Math.round(frame.width * aspect));
    slider.max = String(duration);
    slider.step = '0.01';
    status.textContent = `${duration.toFixed(2)} s, ${video.videoWidth} × ${video.videoHeight} px. Move the slider to see a frame; “Add this time” takes it.`;
    if (maxSeconds && duration > maxSeconds) {
      status.append(h('strong.film-too-long', null, ` This server takes films of at most ${maxSeconds} s: cut the film first.`));
    }
    strip.hidden = false;
    scrub.hidden = false;
    el.dataset.state = 'loading';
    update();
    showSlider();
    const times = thumbTimes(duration, THUMBS);
    for (let i = 0; i < THUMBS; i++) {
      await enqueue(async () => {
        try {
          await drawAt(times[i], thumbs[i]);
        } catch {
          /* a frame that cannot be reached stays blank */
        }
      });
      if (closed) return;
    }
    showSlider();
    await queue;
    if (!closed) el.dataset.state = 'ready';
  };

  slider.addEventListener('input', showSlider);
  add.addEventListener('click', () => onAddTime(Number(slider.value)));
  thumbs.forEach((c, i) =>
    c.addEventListener('click', () => {
      if (!duration) return;
      slider.value = String(thumbTimes(duration, THUMBS)[i]);
      showSlider();
    }),
  );
  start();

  return {
    el,
    update,
    /** Release the film (the blob URL and the video). */
    close() {
      closed = true;
      video.removeAttribute('src');
      video.load();
      video.remove();
      if (url) URL.revokeObjectURL(url);
    },
  };
}
