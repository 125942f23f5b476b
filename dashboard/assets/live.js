// A graphql-transport-ws client (the protocol of GraphQL subscriptions on /graphql).
//
// connection_init carries the token (never the URL); subscriptions survive a
// dropped connection: each is sent again on the next one, with variables
// computed afresh (so registryEvents resumes after the last cursor it saw).
// A ping every PING_EVERY_MS that gets no answer within PONG_WITHIN_MS means
// a dead connection that the browser has not noticed yet: it is replaced.

const PROTOCOL = "graphql-transport-ws";
const PING_EVERY_MS = 15000;
const PONG_WITHIN_MS = 10000;
const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 10000;
// Close codes after which trying again cannot help (bad token, refused protocol).
const UNAUTHORIZED = new Set([4401, 4403]);
const FATAL = new Set([4400, 4406]);

export const STATUS = Object.freeze({
  CONNECTING: "connecting",
  LIVE: "live",
  RECONNECTING: "reconnecting",
  OFFLINE: "offline",
});

export class LiveClient {
  /**
   * url: ws(s)://host/graphql; token(): the bearer token;
   * onStatus(status, detail); onUnauthorized(code, reason): the server refused the token.
   */
  constructor({ url, token, onStatus = () => {}, onUnauthorized = () => {} }) {
    this.url = url;
    this.token = token;
    this.onStatus = onStatus;
    this.onUnauthorized = onUnauthorized;
    this.subscriptions = new Map();
    this.nextId = 1;
    this.socket = null;
    this.acknowledged = false;
    this.stopped = true;
    this.failures = 0;
    this.retryTimer = null;
    this.pingTimer = null;
    this.pongTimer = null;
    this.status = STATUS.OFFLINE;
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.clearTimers();
    if (this.socket) this.socket.close(1000, "signed out");
    this.socket = null;
    this.subscriptions.clear();
    this.setStatus(STATUS.OFFLINE);
  }

  /** Subscribe; returns a function that ends the subscription. */
  subscribe({ query, variables = () => ({}), next, error = () => {} }) {
    const id = String(this.nextId++);
    this.subscriptions.set(id, { query, variables, next, error });
    if (this.acknowledged) this.sendSubscribe(id);
    return () => {
      if (!this.subscriptions.delete(id)) return;
      if (this.acknowledged) this.send({ id, type: "complete" });
    };
  }

  setStatus(status, detail = "") {
    this.status = status;
    this.onStatus(status, detail);
  }

  connect() {
    this.setStatus(this.failures === 0 ? STATUS.CONNECTING : STATUS.RECONNECTING);
    let socket;
    try {
      socket = new WebSocket(this.url, PROTOCOL);
    } catch (error) {
      this.scheduleRetry(String(error));
      return;
    }
    this.socket = socket;
    this.acknowledged = false;
    socket.addEventListener("open", () => {
      this.send({ type: "connection_init", payload: { authorization: `Bearer ${this.token()}` } });
    });
    socket.addEventListener("message", (event) => this.receive(socket, event.data));
    socket.addEventListener("close", (event) => this.closed(socket, event.code, event.reason));
  }

  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  sendSubscribe(id) {
    const sub = this.subscriptions.get(id);
    this.send({ id, type: "subscribe", payload: { query: sub.query, variables: sub.variables() } });
  }

  receive(socket, data) {
    if (socket !== this.socket) return;
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      socket.close(4400, "invalid message");
      return;
    }
    clearTimeout(this.pongTimer); // anything heard proves the connection alive
    switch (message.type) {
      case "connection_ack":
        this.acknowledged = true;
        this.failures = 0;
        this.setStatus(STATUS.LIVE);
        this.keepAlive();
        for (const id of this.subscriptions.keys()) this.sendSubscribe(id);
        break;
      case "ping":
        this.send({ type: "pong" });
        break;
      case "next": {
        const sub = this.subscriptions.get(message.id);
        if (sub) sub.next(message.payload);
        break;
      }
      case "error": {
        const sub = this.subscriptions.get(message.id);
        if (sub) {
          this.subscriptions.delete(message.id);
          sub.error(message.payload);
        }
        break;
      }
      case "complete":
        this.subscriptions.delete(message.id);
        break;
      default:
        break; // pong, or a type from a later protocol revision
    }
  }

  keepAlive() {
    this.clearTimers();
    this.pingTimer = setInterval(() => {
      this.send({ type: "ping" });
      clearTimeout(this.pongTimer);
      this.pongTimer = setTimeout(() => this.socket && this.socket.close(4408, "no pong"), PONG_WITHIN_MS);
    }, PING_EVERY_MS);
  }

  clearTimers() {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
  }

  closed(socket, code, reason) {
    if (socket !== this.socket) return;
    this.socket = null;
    this.acknowledged = false;
    this.clearTimers();
    if (this.stopped) return;
    if (UNAUTHORIZED.has(code)) {
      this.stopped = true;
      this.setStatus(STATUS.OFFLINE, reason);
      this.onUnauthorized(code, reason);
      return;
    }
    if (FATAL.has(code)) {
      this.stopped = true;
      this.setStatus(STATUS.OFFLINE, reason || `closed with ${code}`);
      return;
    }
    this.scheduleRetry(reason || `connection closed (${code})`);
  }

  scheduleRetry(detail) {
    this.failures += 1;
    const ceiling = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** (this.failures - 1));
    const delay = ceiling / 2 + Math.random() * (ceiling / 2); // jitter: replicas restart together
    this.setStatus(STATUS.RECONNECTING, detail);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      if (!this.stopped) this.connect();
    }, delay);
  }
}

/** ws://host/graphql for http pages, wss:// for https. */
export function graphqlSocketUrl(location = window.location) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/graphql`;
}
