// Shared by the kiosk, the desk and the display (inlined into each page by intake).
"use strict";
const CONFIG = __CONFIG__;

const $ = (selector, root = document) => root.querySelector(selector);

// Builds elements from data: text always as text, never as markup.
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

// The token: taken from "#token=..." (then stripped from the address, so it is not
// left in the history or on the screen), else the one kept in `storage`.
function tokenStore(key, storage) {
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.has("token")) {
    const given = fragment.get("token").trim();
    fragment.delete("token");
    const rest = fragment.toString();
    history.replaceState(null, "", location.pathname + location.search + (rest ? "#" + rest : ""));
    if (given) storage.setItem(key, given);
  }
  return {
    get: () => storage.getItem(key),
    set: value => storage.setItem(key, value),
    forget: () => storage.removeItem(key),
  };
}

// Who a token names (shown to the user; the server checks the signature, not us).
function tokenClaims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(decodeURIComponent(escape(atob(part))));
  } catch (_) {
    return {};
  }
}

class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || "HTTP " + status);
    this.status = status;
    this.code = error.code;
    this.details = error.details;
  }
}

// One JSON call with the bearer token; resolves to the body (null for 204), throws ApiError.
// `key`: the Idempotency-Key of the user action this call carries out (see `act`).
async function api(token, method, url, body, timeoutMs = 10000, key = undefined) {
  const headers = { Authorization: "Bearer " + token, Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (key) headers["Idempotency-Key"] = key;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    const response = await fetch(url, {
      method, headers, cache: "no-store", signal: abort.signal,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 204) return null;
    const data = await response.json().catch(() => null);
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw new ApiError(0, { error: { message: abort.signal.aborted ? "timed out" : "no connection" } });
  } finally {
    clearTimeout(timer);
  }
}

// A new Idempotency-Key: a random UUID. crypto.randomUUID exists only on secure pages
// (https, localhost); an office's plain-http address gets one built from getRandomValues.
function newKey() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, x => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// The keys of user actions whose answer never came, by action (url and body).
const unanswered = new Map();
const answerLost = error => error.status === 0 || error.status === 502 || error.status === 503 || error.status === 504;

// A user action that records something (POST): sent with one Idempotency-Key, and sent
// again with the same key while its answer is lost (no connection, timed out, 502-504),
// `attempts` times in all. The server carries it out once and answers every retry with
// the first answer, so a retried ticket is one ticket and a retried call-next calls one
// visitor. Still lost after that, the key is kept: the user's next try of the very same
// action (same address and body) sends it again.
async function act(token, url, body, { attempts = 3, timeoutMs = 10000 } = {}) {
  const action = url + " " + JSON.stringify(body === undefined ? null : body);
  const key = unanswered.get(action) || newKey();
  unanswered.set(action, key);
  for (let attempt = 1; ; attempt++) {
    try {
      const answer = await api(token, "POST", url, body, timeoutMs, key);
      unanswered.delete(action);
      return answer;
    } catch (error) {
      if (!answerLost(error)) unanswered.delete(action);
      if (!answerLost(error) || attempt >= attempts) throw error;
      await sleep(400 * attempt + Math.random() * 200);
    }
  }
}

// Server-Sent Events over fetch(): EventSource cannot send an Authorization header.
// Parses the stream (event/data lines, blank line ends a message), reconnects with
// backoff (1 s doubling to 30 s, with jitter), and gives up a silent connection after
// 45 s (the server pings every 15). onState("open" | "retry" | "auth", detail).
function sseParser(onMessage) {
  let buffer = "", data = [], type = "";
  return chunk => {
    buffer += chunk;
    // A "\r" at the end may be the first half of "\r\n": wait for the next chunk.
    const end = buffer.endsWith("\r") ? buffer.length - 1 : buffer.length;
    const lines = buffer.slice(0, end).split(/\r\n|\r|\n/);
    buffer = lines.pop() + buffer.slice(end);
    for (const line of lines) {
      if (line === "") {
        if (data.length) onMessage(type || "message", data.join("\n"));
        data = [];
        type = "";
      } else if (!line.startsWith(":")) {
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (field === "event") type = value;
        else if (field === "data") data.push(value);
      }
    }
  };
}

function followStream(url, getToken, onMessage, onState) {
  let stopped = false, current = null;
  (async () => {
    let delay = 1000;
    while (!stopped) {
      const abort = new AbortController();
      current = abort;
      let watchdog = setTimeout(() => abort.abort(), 45000);
      try {
        const response = await fetch(url, {
          headers: { Authorization: "Bearer " + getToken(), Accept: "text/event-stream" },
          cache: "no-store", signal: abort.signal,
        });
        if (response.status === 401 || response.status === 403) {
          onState("auth", response.status);
          return;
        }
        if (!response.ok || !response.body) throw new Error("HTTP " + response.status);
        onState("open");
        delay = 1000;
        const parse = sseParser(onMessage);
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          clearTimeout(watchdog);
          watchdog = setTimeout(() => abort.abort(), 45000);
          parse(value);
        }
      } catch (_) {
        // a dropped or refused connection: try again below
      } finally {
        clearTimeout(watchdog);
      }
      if (stopped) return;
      onState("retry", delay);
      await sleep(delay + Math.random() * 500);
      delay = Math.min(delay * 2, 30000);
    }
  })();
  return () => { stopped = true; if (current) current.abort(); };
}

function clockTime(iso) {
  const date = iso ? new Date(iso) : new Date();
  return date.toLocaleTimeString("sv-SE", { hour: "2-digit", minute: "2-digit" });
}
