"use strict";
// The audition page: sliders from the knob registry, a step grid, and looped playback.
// Everything comes from this server's /api endpoints; nothing is fetched from elsewhere.
(function () {
  const $ = (id) => document.getElementById(id);
  const SVG = "http://www.w3.org/2000/svg";
  const ROW_NAMES = { kick: "kick", snare: "snare", hh_closed: "closed hat", hh_open: "open hat", cymbal: "cymbal" };
  const state = {
    knobs: [], presets: [], theta: {}, seed: "0", bpm: 128, bars: 4,
    loop: null, renders: 0, inFlight: false, dirty: false, lastLatencyMs: null,
    wavUrl: null, wavBytes: null, playing: false, swaps: 0,
    sampleSeed: "0", sampleIndex: 0,
  };
  const audio = { ctx: null, source: null, startTime: 0, bpm: 128, pending: null };

  function status(text, isError) {
    const el = $("status");
    el.textContent = text;
    el.classList.toggle("error", Boolean(isError));
  }
  async function getJSON(url) {
    const response = await fetch(url);
    const body = await response.json();
    if (!response.ok) throw new Error(body.detail || response.statusText);
    return body;
  }
  function digits(knob) {
    const width = knob.high - knob.low;
    return width >= 10 ? 1 : width >= 2 ? 2 : 3;
  }
  function query() {
    const params = new URLSearchParams();
    state.knobs.forEach((k) => params.append(k.name, String(state.theta[k.name])));
    params.append("seed", state.seed);
    params.append("bpm", String(state.bpm));
    params.append("bars", String(state.bars));
    return params.toString();
  }

  // ---- knobs -------------------------------------------------------------------------
  function buildKnobs() {
    const box = $("knobs");
    box.replaceChildren();
    state.knobs.forEach(function (knob) {
      state.theta[knob.name] = knob.default;
      const wrap = document.createElement("div");
      wrap.className = "knob";
      wrap.title = knob.meaning + " Rises with it: " + knob.effect + ".";
      const head = document.createElement("div");
      head.className = "head";
      const name = document.createElement("label");
      name.className = "name";
      name.htmlFor = "knob-" + knob.name;
      name.textContent = knob.label;
      const value = document.createElement("span");
      value.className = "value";
      value.id = "value-" + knob.name;
      head.append(name, value);
      const slider = document.createElement("input");
      slider.type = "range";
      slider.id = "knob-" + knob.name;
      slider.name = knob.name;
      slider.min = String(knob.low);
      slider.max = String(knob.high);
      slider.step = "any";  // every value, the default and posterior draws included
      slider.value = String(knob.default);
      slider.addEventListener("input", function () {
        state.theta[knob.name] = Number(slider.value);
        showValue(knob);
        $("preset").value = "";
        requestLoop();
      });
      const help = document.createElement("div");
      help.className = "help";
      help.textContent = knob.meaning + " [" + knob.low + "\u2013" + knob.high + " " + knob.unit +
        ", default " + knob.default + "]";
      wrap.append(head, slider, help);
      box.append(wrap);
      showValue(knob);
    });
  }
  function showValue(knob) {
    $("value-" + knob.name).textContent = Number(state.theta[knob.name]).toFixed(digits(knob));
  }
  function setTheta(theta) {
    state.knobs.forEach(function (knob) {
      if (theta[knob.name] === undefined) return;
      state.theta[knob.name] = theta[knob.name];
      $("knob-" + knob.name).value = String(theta[knob.name]);
      showValue(knob);
    });
  }

  // ---- grid --------------------------------------------------------------------------
  function svg(tag, attrs, parent) {
    const node = document.createElementNS(SVG, tag);
    Object.entries(attrs).forEach(([k, v]) => node.setAttribute(k, String(v)));
    if (parent) parent.append(node);
    return node;
  }
  function drawGrid(loop) {
    const grid = $("grid");
    const labelW = 78, cellW = 14, rowH = 28, rows = loop.instruments.length;
    const width = labelW + loop.steps * cellW, height = rows * rowH;
    grid.setAttribute("viewBox", "0 0 " + width + " " + height);
    grid.replaceChildren();
    loop.instruments.forEach(function (name, r) {
      const text = svg("text", { x: 6, y: r * rowH + rowH / 2 + 4, class: "row-label" }, grid);
      text.textContent = ROW_NAMES[name] || name;
    });
    for (let s = 0; s <= loop.steps; s += 4) {
      const x = labelW + s * cellW;
      svg("line", { x1: x, x2: x, y1: 0, y2: height, class: s % 16 === 0 ? "bar" : "beat" }, grid);
    }
    let hits = 0;
    const hw = cellW * 0.55;
    loop.velocity.forEach(function (row, r) {
      row.forEach(function (vel, s) {
        if (!vel) return;
        hits += 1;
        const off = loop.offset[r][s];
        const x = labelW + (s + 0.5 + off) * cellW - hw / 2;
        const rect = svg("rect", {
          x: x.toFixed(2), y: r * rowH + 4, width: hw.toFixed(2), height: rowH - 8, rx: 2,
          class: "hit", "fill-opacity": (0.15 + 0.85 * vel / 127).toFixed(3),
          "data-step": s, "data-row": r,
        }, grid);
        const tip = svg("title", {}, rect);
        const ms = off * 15000 / loop.bpm;
        tip.textContent = (ROW_NAMES[loop.instruments[r]] || loop.instruments[r]) + ", step " + (s + 1) +
          ", velocity " + vel + ", " + (ms >= 0 ? "+" : "") + ms.toFixed(1) + " ms";
      });
    });
    svg("rect", { id: "playhead", x: labelW, y: 0, width: cellW, height: height, class: "playhead", visibility: "hidden" }, grid);
    grid.dataset.key = loop.key;
    grid.dataset.hits = String(hits);
    grid.dataset.steps = String(loop.steps);
  }
  function drawPlayhead() {
    const head = $("playhead");
    if (head && audio.ctx && state.playing && state.loop) {
      const loopDur = state.bars * 240 / audio.bpm;
      const pos = ((audio.ctx.currentTime - audio.startTime) % loopDur + loopDur) % loopDur;
      const step = Math.floor(pos / loopDur * state.loop.steps);
      head.setAttribute("x", String(78 + step * 14));
      head.setAttribute("visibility", "visible");
    } else if (head) {
      head.setAttribute("visibility", "hidden");
    }
    requestAnimationFrame(drawPlayhead);
  }

  // ---- audio -------------------------------------------------------------------------
  async function decode(bytes) {
    return audio.ctx.decodeAudioData(bytes.slice(0));
  }
  function startSource(buffer, when, offset) {
    const source = audio.ctx.createBufferSource();
    source.buffer = buffer;
    source.loop = true;
    source.connect(audio.ctx.destination);
    source.start(when, offset);
    return source;
  }
  // Swap the new loop in at the next bar line of the playing one, at the same point of the
  // loop when the tempo is unchanged (so a slider sweep plays on without a gap).
  function swapIn(buffer, bpm) {
    const now = audio.ctx.currentTime;
    if (audio.pending && audio.pending.at > now) {
      // the last swap has not happened yet: cancel it and keep the loop that is playing
      audio.pending.source.stop();
      audio.source = audio.pending.previous;
      audio.startTime = audio.pending.previousStart;
      audio.bpm = audio.pending.previousBpm;
    }
    const barDur = 240 / audio.bpm;
    const elapsed = now - audio.startTime;
    const at = audio.startTime + Math.ceil((elapsed + 0.03) / barDur) * barDur;
    const sameTempo = Math.abs(bpm - audio.bpm) < 1e-9;
    const offset = sameTempo ? (at - audio.startTime) % buffer.duration : 0;
    const source = startSource(buffer, at, offset);
    audio.source.stop(at);  // replaces any earlier stop time
    audio.pending = {
      source: source, at: at,
      previous: audio.source, previousStart: audio.startTime, previousBpm: audio.bpm,
    };
    audio.source = source;
    audio.startTime = at - offset;
    audio.bpm = bpm;
    state.swaps += 1;
  }
  async function updateAudio(loop) {
    const response = await fetch(loop.wav);
    if (!response.ok) throw new Error("the WAV could not be rendered (" + response.status + ")");
    state.wavBytes = await response.arrayBuffer();
    state.wavUrl = loop.wav;
    if (!state.playing) return;
    const buffer = await decode(state.wavBytes);
    if (state.wavUrl !== loop.wav || !state.playing) return;  // a newer loop arrived
    swapIn(buffer, loop.bpm);
  }
  async function play() {
    if (state.playing) { stop(); return; }
    if (!state.wavBytes) return;
    audio.ctx = audio.ctx || new AudioContext();
    await audio.ctx.resume();
    const buffer = await decode(state.wavBytes);
    const at = audio.ctx.currentTime + 0.05;
    audio.source = startSource(buffer, at, 0);
    audio.startTime = at;
    audio.bpm = state.loop.bpm;
    audio.pending = null;
    state.playing = true;
    $("play").classList.add("on");
    $("play").textContent = "\u25A0 Stop";
  }
  function stop() {
    if (audio.source) audio.source.stop();
    if (audio.pending) { audio.pending.source.stop(); audio.pending.previous.stop(); }
    audio.source = null;
    audio.pending = null;
    state.playing = false;
    $("play").classList.remove("on");
    $("play").textContent = "\u25B6 Play";
  }

  // ---- rendering requests ------------------------------------------------------------
  // At most one request in flight; moves made meanwhile are sent as one, the latest state.
  async function requestLoop() {
    if (state.inFlight) { state.dirty = true; return; }
    state.inFlight = true;
    state.dirty = false;
    const started = performance.now();
    try {
      const loop = await getJSON("/api/loop?" + query());
      state.loop = loop;
      drawGrid(loop);
      $("download-midi").href = loop.midi;
      $("download-midi").download = "technorhythm_" + loop.seed + ".mid";
      $("download-theta").href = loop.theta_json;
      $("download-theta").download = "theta_" + loop.seed + ".json";
      await updateAudio(loop);
      state.renders += 1;
      state.lastLatencyMs = performance.now() - started;
      status(loop.hits + " hits \u00b7 grid and audio in " + Math.round(state.lastLatencyMs) + " ms");
    } catch (err) {
      status(err.message, true);
    } finally {
      state.inFlight = false;
      if (state.dirty) requestLoop();
    }
  }

  // ---- controls ----------------------------------------------------------------------
  function wireControls() {
    $("play").addEventListener("click", () => { play().catch((err) => status(err.message, true)); });
    $("preset").addEventListener("change", function () {
      const preset = state.presets.find((p) => p.name === this.value);
      if (!preset) return;
      setTheta(preset.theta);
      status(preset.description);
      requestLoop();
    });
    $("seed").addEventListener("change", function () {
      if (!/^\d+$/.test(this.value.trim())) { status("the pattern seed must be a non-negative integer", true); return; }
      state.seed = this.value.trim();
      requestLoop();
    });
    $("new-pattern").addEventListener("click", function () {
      state.seed = String(crypto.getRandomValues(new Uint32Array(1))[0]);
      $("seed").value = state.seed;
      requestLoop();
    });
    $("bpm").addEventListener("change", function () {
      const bpm = Number(this.value);
      if (!(bpm >= 20 && bpm <= 400)) { status("the tempo must be 20\u2013400 bpm", true); return; }
      state.bpm = bpm;
      requestLoop();
    });
    $("sample").addEventListener("click", async function () {
      const pack = $("pack").value;
      const index = state.sampleIndex++;
      try {
        const source = $("knob-source").value;
        const drawn = await getJSON("/api/sample?" + new URLSearchParams({ pack: pack, seed: state.sampleSeed, index: String(index), knobs: source }));
        setTheta(drawn.theta);
        state.seed = drawn.seed;
        $("seed").value = drawn.seed;
        $("preset").value = "";
        await requestLoop();
        status("draw " + drawn.loop + " of pack " + pack + " (" + drawn.command + ")");
      } catch (err) {
        status(err.message, true);
      }
    });
  }

  async function init() {
    const [knobs, presets, packs] = await Promise.all([
      getJSON("/api/knobs"), getJSON("/api/presets"), getJSON("/api/packs"),
    ]);
    state.knobs = knobs.knobs;
    state.presets = presets.presets;
    buildKnobs();
    presets.presets.forEach(function (p) {
      const option = document.createElement("option");
      option.value = p.name;
      option.textContent = p.name;
      option.title = p.description;
      $("preset").append(option);
    });
    if (packs.packs.length) {
      packs.packs.forEach(function (p) {
        const option = document.createElement("option");
        option.value = p.name;
        option.textContent = p.name + " (" + p.n_clips + " loops)";
        $("pack").append(option);
      });
      $("pack-controls").hidden = false;
      $("fit-note").textContent = "fit: " + packs.fit;
    }
    wireControls();
    requestAnimationFrame(drawPlayhead);
    await requestLoop();
  }

  window.audition = { state: state, audio: audio, requestLoop: requestLoop };
  init().catch((err) => status("the page could not start: " + err.message, true));
})();
