/*
 * udp_batch: batched UDP I/O for the DNS hot path (Linux recvmmsg/sendmmsg).
 *
 * Node's dgram costs one libuv callback, one Buffer, one rinfo object and one
 * send request per packet. Here the socket is read with recvmmsg in batches of
 * up to BATCH datagrams into a shared ArrayBuffer; JavaScript is called once
 * per batch, writes each answer into a shared output ArrayBuffer, and the
 * answers go out with one sendmmsg. The socket is our own (SO_REUSEPORT), so
 * every cluster worker can have one and the kernel spreads clients over them.
 *
 * JS API (Node-API, C):
 *   open(host, port, reusePort, group) -> { fd, port }  bind a non-blocking UDP socket;
 *                                with group > 1, spread datagrams over the group's
 *                                sockets at random (a reuseport BPF program), not by
 *                                flow hash: few busy flows would otherwise pile on one worker
 *   start(fd, buffers, onBatch)  -> handle           poll it on the main loop
 *     buffers = { in: ArrayBuffer, inLens: Int32Array, addrs: Uint8Array,
 *                 out: ArrayBuffer, outLens: Int32Array, stats: Float64Array }
 *     onBatch(n): the first n slots of `in` hold datagrams; set outLens[i] to
 *                 the answer length in slot i of `out`, or 0 for no answer.
 *   stop(handle)                                     stop polling, close the socket
 * Layout constants are exported: BATCH, IN_SLOT, OUT_SLOT, ADDR_SLOT.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define BATCH 64
#define IN_SLOT 4096
#define OUT_SLOT 65536
#define ADDR_SLOT 20 /* family(1) pad(1) port(2) address(16) */
#define MAX_ROUNDS 16 /* batches per readable event, then yield to the loop */
#ifndef SO_ATTACH_REUSEPORT_CBPF
#define SO_ATTACH_REUSEPORT_CBPF 51
#endif

/* stats[] slots shared with JS */
enum { ST_RECV = 0, ST_SENT, ST_SEND_DROPPED, ST_TRUNCATED_IN, ST_BATCHES, ST_COUNT };

typedef struct {
  napi_env env;
  uv_poll_t poll;
  int fd;
  napi_ref callback;
  napi_ref buffers; /* keeps the shared arrays alive */
  napi_async_context async;
  unsigned char *in;
  int32_t *in_lens;
  unsigned char *addrs;
  unsigned char *out;
  int32_t *out_lens;
  double *stats;
  struct sockaddr_storage src[BATCH];
  struct iovec in_iov[BATCH];
  struct mmsghdr in_msgs[BATCH];
  struct iovec out_iov[BATCH];
  struct mmsghdr out_msgs[BATCH];
  int closing;
} batch_t;

#define CHECK(env, call)                                              \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error((env), NULL, "udp_batch: " #call " failed");  \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

static napi_value throw_errno(napi_env env, const char *what) {
  char msg[160];
  snprintf(msg, sizeof msg, "udp_batch: %s: %s", what, strerror(errno));
  napi_throw_error(env, NULL, msg);
  return NULL;
}

/*
 * Classic BPF for a reuseport group: return a random socket index in [0, n).
 * The kernel falls back to its flow hash if the index is out of range (e.g.
 * while a restarted worker has not rebound yet).
 */
static int attach_random_balancer(int fd, uint32_t n) {
  struct sock_filter code[] = {
      {BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)(SKF_AD_OFF + SKF_AD_RANDOM)},
      {BPF_ALU | BPF_MOD | BPF_K, 0, 0, n},
      {BPF_RET | BPF_A, 0, 0, 0},
  };
  struct sock_fprog prog = {.len = 3, .filter = code};
  return setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof prog);
}

/* open(host: string, port: number, reusePort: boolean, group: number) -> { fd, port } */
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char host[64];
  size_t hlen;
  int32_t port;
  bool reuse;
  int32_t group = 1;
  CHECK(env, napi_get_value_string_utf8(env, argv[0], host, sizeof host, &hlen));
  CHECK(env, napi_get_value_int32(env, argv[1], &port));
  CHECK(env, napi_get_value_bool(env, argv[2], &reuse));
  if (argc > 3) CHECK(env, napi_get_value_int32(env, argv[3], &group));

  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t slen;
  int family;
  struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
    family = AF_INET;
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    slen = sizeof *a4;
  } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
    family = AF_INET6;
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)port);
    slen = sizeof *a6;
  } else {
    napi_throw_error(env, NULL, "udp_batch: host is not an IP address");
    return NULL;
  }
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket");
  int one = 1;
  if (reuse && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) {
    close(fd);
    return throw_errno(env, "SO_REUSEPORT");
  }
  if (family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  int rcvbuf = 4 * 1024 * 1024;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf); /* best effort: rmem_max caps it */
  if (bind(fd, (struct sockaddr *)&ss, slen) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return throw_errno(env, "bind");
  }
  /* Best effort: without the balancer the kernel's flow hash still works. */
  if (reuse && group > 1) attach_random_balancer(fd, (uint32_t)group);
  struct sockaddr_storage bound;
  socklen_t blen = sizeof bound;
  getsockname(fd, (struct sockaddr *)&bound, &blen);
  int bport = family == AF_INET ? ntohs(((struct sockaddr_in *)&bound)->sin_port) : ntohs(((struct sockaddr_in6 *)&bound)->sin6_port);

  napi_value result, vfd, vport;
  CHECK(env, napi_create_object(env, &result));
  CHECK(env, napi_create_int32(env, fd, &vfd));
  CHECK(env, napi_create_int32(env, bport, &vport));
  CHECK(env, napi_set_named_property(env, result, "fd", vfd));
  CHECK(env, napi_set_named_property(env, result, "port", vport));
  return result;
}

/* Copy the source address of datagram i into the shared address slot. */
static void store_addr(batch_t *b, int i) {
  unsigned char *slot = b->addrs + i * ADDR_SLOT;
  memset(slot, 0, ADDR_SLOT);
  struct sockaddr_storage *s = &b->src[i];
  if (s->ss_family == AF_INET) {
    struct sockaddr_in *a = (struct sockaddr_in *)s;
    slot[0] = 4;
    memcpy(slot + 2, &a->sin_port, 2);
    memcpy(slot + 4, &a->sin_addr, 4);
  } else if (s->ss_family == AF_INET6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)s;
    slot[0] = 6;
    memcpy(slot + 2, &a->sin6_port, 2);
    memcpy(slot + 4, &a->sin6_addr, 16);
  }
}

static void call_js(batch_t *b, int n) {
  napi_env env = b->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, recv, arg, result;
  napi_get_reference_value(env, b->callback, &cb);
  napi_get_global(env, &recv);
  napi_create_int32(env, n, &arg);
  /* make_callback: process.nextTick queues and microtasks run afterwards, as for any I/O callback */
  if (napi_make_callback(env, b->async, recv, cb, 1, &arg, &result) != napi_ok) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      napi_value err;
      napi_get_and_clear_last_exception(env, &err);
      napi_fatal_exception(env, err); /* surfaces as uncaughtException, like any callback */
    }
    for (int i = 0; i < n; i++) b->out_lens[i] = 0;
  }
  napi_close_handle_scope(env, scope);
}

static void send_answers(batch_t *b, int n) {
  int m = 0;
  for (int i = 0; i < n; i++) {
    int32_t len = b->out_lens[i];
    if (len <= 0 || len > OUT_SLOT) continue;
    b->out_iov[m].iov_base = b->out + (size_t)i * OUT_SLOT;
    b->out_iov[m].iov_len = (size_t)len;
    memset(&b->out_msgs[m].msg_hdr, 0, sizeof(struct msghdr));
    b->out_msgs[m].msg_hdr.msg_iov = &b->out_iov[m];
    b->out_msgs[m].msg_hdr.msg_iovlen = 1;
    b->out_msgs[m].msg_hdr.msg_name = &b->src[i];
    b->out_msgs[m].msg_hdr.msg_namelen = b->in_msgs[i].msg_hdr.msg_namelen;
    m++;
  }
  int done = 0;
  while (done < m) {
    int r = sendmmsg(b->fd, b->out_msgs + done, (unsigned)(m - done), MSG_DONTWAIT);
    if (r < 0) {
      if (errno == EINTR) continue;
      /* EAGAIN (socket buffer full) or a per-destination error: skip one and go on. */
      b->stats[ST_SEND_DROPPED] += 1;
      done += 1;
      continue;
    }
    b->stats[ST_SENT] += r;
    done += r;
  }
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  batch_t *b = (batch_t *)handle->data;
  if (status < 0 || !(events & UV_READABLE) || b->closing) return;
  for (int round = 0; round < MAX_ROUNDS && !b->closing; round++) {
    for (int i = 0; i < BATCH; i++) {
      b->in_iov[i].iov_base = b->in + (size_t)i * IN_SLOT;
      b->in_iov[i].iov_len = IN_SLOT;
      memset(&b->in_msgs[i].msg_hdr, 0, sizeof(struct msghdr));
      b->in_msgs[i].msg_hdr.msg_iov = &b->in_iov[i];
      b->in_msgs[i].msg_hdr.msg_iovlen = 1;
      b->in_msgs[i].msg_hdr.msg_name = &b->src[i];
      b->in_msgs[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_storage);
    }
    int n = recvmmsg(b->fd, b->in_msgs, BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0) break;
    for (int i = 0; i < n; i++) {
      int len = (int)b->in_msgs[i].msg_len;
      if (b->in_msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
        b->stats[ST_TRUNCATED_IN] += 1;
        len = 0; /* larger than a slot: no DNS query is; drop it */
      }
      b->in_lens[i] = len;
      b->out_lens[i] = 0;
      store_addr(b, i);
    }
    b->stats[ST_RECV] += n;
    b->stats[ST_BATCHES] += 1;
    call_js(b, n);
    send_answers(b, n);
    if (n < BATCH) break;
  }
}

static int get_buffer(napi_env env, napi_value obj, const char *name, void **data, size_t min_bytes) {
  napi_value v;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok) return 0;
  bool is_ab = false, is_ta = false;
  napi_is_arraybuffer(env, v, &is_ab);
  size_t len = 0;
  if (is_ab) {
    if (napi_get_arraybuffer_info(env, v, data, &len) != napi_ok) return 0;
  } else {
    napi_is_typedarray(env, v, &is_ta);
    if (!is_ta) return 0;
    napi_typedarray_type type;
    size_t count, offset;
    napi_value ab;
    if (napi_get_typedarray_info(env, v, &type, &count, data, &ab, &offset) != napi_ok) return 0;
    size_t unit = type == napi_int32_array ? 4 : type == napi_float64_array ? 8 : 1;
    len = count * unit;
  }
  return len >= min_bytes;
}

/* start(fd, buffers, onBatch) -> external handle */
static napi_value js_start(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  CHECK(env, napi_get_value_int32(env, argv[0], &fd));
  batch_t *b = calloc(1, sizeof *b);
  if (!b) {
    napi_throw_error(env, NULL, "udp_batch: out of memory");
    return NULL;
  }
  b->env = env;
  b->fd = fd;
  void *p;
  if (!get_buffer(env, argv[1], "in", &p, (size_t)BATCH * IN_SLOT) || !(b->in = p) ||
      !get_buffer(env, argv[1], "inLens", &p, BATCH * 4) || !(b->in_lens = p) ||
      !get_buffer(env, argv[1], "addrs", &p, BATCH * ADDR_SLOT) || !(b->addrs = p) ||
      !get_buffer(env, argv[1], "out", &p, (size_t)BATCH * OUT_SLOT) || !(b->out = p) ||
      !get_buffer(env, argv[1], "outLens", &p, BATCH * 4) || !(b->out_lens = p) ||
      !get_buffer(env, argv[1], "stats", &p, ST_COUNT * 8) || !(b->stats = p)) {
    free(b);
    napi_throw_error(env, NULL, "udp_batch: start() needs in, inLens, addrs, out, outLens, stats of the documented sizes");
    return NULL;
  }
  CHECK(env, napi_create_reference(env, argv[2], 1, &b->callback));
  CHECK(env, napi_create_reference(env, argv[1], 1, &b->buffers));
  napi_value name;
  CHECK(env, napi_create_string_utf8(env, "meridian:udp_batch", NAPI_AUTO_LENGTH, &name));
  CHECK(env, napi_async_init(env, NULL, name, &b->async));
  uv_loop_t *loop;
  CHECK(env, napi_get_uv_event_loop(env, &loop));
  if (uv_poll_init(loop, &b->poll, fd) != 0) {
    napi_throw_error(env, NULL, "udp_batch: uv_poll_init failed");
    return NULL;
  }
  b->poll.data = b;
  uv_poll_start(&b->poll, UV_READABLE, on_readable);
  napi_value ext;
  CHECK(env, napi_create_external(env, b, NULL, NULL, &ext));
  return ext;
}

static void on_closed(uv_handle_t *h) {
  batch_t *b = (batch_t *)h->data;
  close(b->fd);
  napi_delete_reference(b->env, b->callback);
  napi_delete_reference(b->env, b->buffers);
  napi_async_destroy(b->env, b->async);
  free(b);
}

/* stop(handle): stop polling and close the socket */
static napi_value js_stop(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  batch_t *b;
  CHECK(env, napi_get_value_external(env, argv[0], (void **)&b));
  if (b->closing) return NULL;
  b->closing = 1;
  uv_poll_stop(&b->poll);
  uv_close((uv_handle_t *)&b->poll, on_closed);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"start", NULL, js_start, NULL, NULL, NULL, napi_default, NULL},
      {"stop", NULL, js_stop, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, 3, props);
  const struct { const char *name; int value; } consts[] = {
      {"BATCH", BATCH}, {"IN_SLOT", IN_SLOT}, {"OUT_SLOT", OUT_SLOT}, {"ADDR_SLOT", ADDR_SLOT}, {"STATS", ST_COUNT}};
  for (size_t i = 0; i < sizeof consts / sizeof consts[0]; i++) {
    napi_value v;
    napi_create_int32(env, consts[i].value, &v);
    napi_set_named_property(env, exports, consts[i].name, v);
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
