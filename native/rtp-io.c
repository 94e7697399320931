/*
 * Batched RTP socket I/O for the media worker (lib/media-engine/native-rtp-io.ts), as a Node-API addon.
 *
 * Why by hand: Node's `dgram` costs one libuv poll event, two recvmsg calls (the packet, then
 * EAGAIN), a JavaScript callback, a Buffer and an `rinfo` object per received packet, and a send
 * request and a callback per sent one: at 500 calls (50 000 packets a second) that is most of a
 * media worker's CPU and what makes its 20 ms tick start late (docs/benchmarks.md, "Native RTP I/O").
 * Linux has recvmmsg, but Node offers no way to call it and no maintained npm package does
 * (the registry list has none). This file is only the system calls; every decision about the
 * packets stays in TypeScript.
 *
 * The sockets stay Node's: `dgram` binds them (the port allocator is unchanged) and closes them; the
 * worker stops libuv reading them and, once per media tick, drains every socket here with recvmmsg
 * (MSG_DONTWAIT), each packet with the kernel's arrival time (SO_TIMESTAMPNS). Sends are one
 * sendto each, straight from the caller's buffer.
 *
 * Exports (fds are the descriptors of bound UDP/IPv4 sockets):
 *   enable(fd)                                  → 0 or -errno (turns on the arrival timestamps)
 *   recv(fds, count, buf, meta, state)          → packets drained into buf, described in meta
 *       fds: Int32Array, count: how many of it are in use, buf: Buffer the packets are copied into,
 *       meta: Int32Array, RECV_FIELDS per packet: [fd index, offset in buf, length (-1: truncated),
 *       source IPv4 address (host order, as int32), source port, age in µs (-1: no timestamp)],
 *       (an fd of -1 is skipped), state: Int32Array [next fd index to drain, errors other than EAGAIN]: the call starts at
 *       state[0] and stops when every fd is drained (state[0] = count) or buf or meta is full.
 *   send(fd, buf, offset, length, address, port) → bytes sent or -errno (address: IPv4, host order)
 * Arguments of the wrong type throw a TypeError naming the call's arguments; a recv without room for
 * one packet, or a send outside its buffer or to port 0 or above 65535, a RangeError.
 */
#define NAPI_VERSION 8
#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
/* io_uring needs the kernel's header of Linux 6.1 or later (DEFER_TASKRUN, buffer rings, multishot
 * receive); with older headers the addon is built without it (uringOpen says -ENOSYS). */
#if defined(__has_include)
#if __has_include(<linux/io_uring.h>)
#include <linux/io_uring.h>
#endif
#endif
#if defined(IORING_SETUP_DEFER_TASKRUN) && defined(IORING_RECV_MULTISHOT)
#define RTP_IO_URING 1
#else
#define RTP_IO_URING 0
#endif
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define RECV_FIELDS 6
#define SLOT 2048 /* the largest datagram kept whole; RTP packets here are ~172 bytes */
#define BATCH 32

/* A Node-API call on an argument that failed: a TypeError naming the function's arguments (never a crash). */
#define CHECK(call, usage)                                                                         \
  do {                                                                                             \
    if ((call) != napi_ok) {                                                                       \
      napi_throw_type_error(env, NULL, "rtp-io: " usage);                                          \
      return NULL;                                                                                 \
    }                                                                                              \
  } while (0)

#define ENABLE_USAGE "enable(fd) takes a descriptor (an integer)"
#define RECV_USAGE "recv(fds, count, buf, meta, state) takes Int32Arrays, a count and a Buffer"
#define SEND_USAGE "send(fd, buf, offset, length, address, port) takes integers and a Buffer"

/* v as a JavaScript number (NULL, i.e. undefined, if that failed: never an unset napi_value). */
static napi_value int_value(napi_env env, int64_t v) {
  napi_value out = NULL;
  if (napi_create_int64(env, v, &out) != napi_ok) return NULL;
  return out;
}

static int typed_i32(napi_env env, napi_value v, int32_t **data, size_t *length) {
  napi_typedarray_type type;
  void *raw;
  if (napi_get_typedarray_info(env, v, &type, length, &raw, NULL, NULL) != napi_ok || type != napi_int32_array) return -1;
  *data = raw;
  return 0;
}

static napi_value enable(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL), ENABLE_USAGE);
  CHECK(napi_get_value_int32(env, argv[0], &fd), ENABLE_USAGE);
  int on = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) != 0) return int_value(env, -errno);
  return int_value(env, 0);
}

static napi_value recv_all(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  int32_t *fds, *meta, *state;
  size_t fds_len, meta_len, state_len, buf_len;
  uint32_t count;
  void *buf_raw;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL), RECV_USAGE);
  if (argc < 5 || typed_i32(env, argv[0], &fds, &fds_len) || typed_i32(env, argv[3], &meta, &meta_len) ||
      typed_i32(env, argv[4], &state, &state_len) || state_len < 2) {
    napi_throw_type_error(env, NULL, "rtp-io: " RECV_USAGE " (state: 2 or more)");
    return NULL;
  }
  CHECK(napi_get_value_uint32(env, argv[1], &count), RECV_USAGE);
  CHECK(napi_get_buffer_info(env, argv[2], &buf_raw, &buf_len), RECV_USAGE);
  /* Without room for one packet it could read nothing and a caller looping until state[0] = count would never end. */
  if (buf_len < SLOT || meta_len < RECV_FIELDS) {
    napi_throw_range_error(env, NULL, "rtp-io: recv needs room for one packet at least (buf of SLOT bytes, meta of RECV_FIELDS)");
    return NULL;
  }
  if (count > fds_len) count = (uint32_t)fds_len;
  uint8_t *buf = buf_raw;

  struct mmsghdr msgs[BATCH];
  struct iovec iovs[BATCH];
  struct sockaddr_in from[BATCH];
  char control[BATCH][CMSG_SPACE(sizeof(struct timespec))];
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);

  size_t used = 0;      /* bytes of buf used */
  size_t packets = 0;   /* packets described in meta */
  size_t max_packets = meta_len / RECV_FIELDS;
  uint32_t i = state[0] < 0 ? 0 : (uint32_t)state[0];
  for (; i < count; i++) {
    if (fds[i] < 0) continue; /* given back while a drain was under way */
    for (;;) {
      size_t room = (buf_len - used) / SLOT;
      size_t vlen = max_packets - packets;
      if (room < vlen) vlen = room;
      if (vlen > BATCH) vlen = BATCH;
      if (vlen == 0) goto full;
      for (size_t k = 0; k < vlen; k++) {
        iovs[k].iov_base = buf + used + k * SLOT;
        iovs[k].iov_len = SLOT;
        memset(&msgs[k].msg_hdr, 0, sizeof msgs[k].msg_hdr);
        msgs[k].msg_hdr.msg_iov = &iovs[k];
        msgs[k].msg_hdr.msg_iovlen = 1;
        msgs[k].msg_hdr.msg_name = &from[k];
        msgs[k].msg_hdr.msg_namelen = sizeof from[k];
        msgs[k].msg_hdr.msg_control = control[k];
        msgs[k].msg_hdr.msg_controllen = sizeof control[k];
      }
      int n = recvmmsg(fds[i], msgs, (unsigned)vlen, MSG_DONTWAIT, NULL);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) state[1]++;
        break;
      }
      size_t slot_base = used;
      for (int k = 0; k < n; k++) {
        int32_t *m = meta + packets * RECV_FIELDS;
        m[0] = (int32_t)i;
        m[1] = (int32_t)(slot_base + (size_t)k * SLOT);
        m[2] = (msgs[k].msg_hdr.msg_flags & MSG_TRUNC) ? -1 : (int32_t)msgs[k].msg_len;
        m[3] = from[k].sin_family == AF_INET ? (int32_t)ntohl(from[k].sin_addr.s_addr) : 0;
        m[4] = from[k].sin_family == AF_INET ? ntohs(from[k].sin_port) : 0;
        m[5] = -1;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msgs[k].msg_hdr); c; c = CMSG_NXTHDR(&msgs[k].msg_hdr, c)) {
          if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
            struct timespec ts;
            memcpy(&ts, CMSG_DATA(c), sizeof ts);
            int64_t age = ((int64_t)(now.tv_sec - ts.tv_sec) * 1000000000 + (now.tv_nsec - ts.tv_nsec)) / 1000;
            m[5] = age < 0 ? 0 : (age > INT32_MAX ? INT32_MAX : (int32_t)age);
          }
        }
        packets++;
      }
      used += (size_t)n * SLOT;
      if ((size_t)n < vlen) break; /* drained */
    }
  }
full:
  state[0] = (int32_t)i;
  return int_value(env, (int64_t)packets);
}

/* A send's arguments (fd, buf, offset, length, address, port), checked: 0, or -1 with a TypeError or RangeError thrown. */
static int send_args(napi_env env, napi_callback_info info, int32_t *fd, uint8_t **data, uint32_t *length, struct sockaddr_in *to) {
  size_t argc = 6;
  napi_value argv[6];
  int32_t port;
  uint32_t offset, address;
  void *buf;
  size_t buf_len;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 6 || napi_get_value_int32(env, argv[0], fd) != napi_ok ||
      napi_get_buffer_info(env, argv[1], &buf, &buf_len) != napi_ok || napi_get_value_uint32(env, argv[2], &offset) != napi_ok ||
      napi_get_value_uint32(env, argv[3], length) != napi_ok || napi_get_value_uint32(env, argv[4], &address) != napi_ok ||
      napi_get_value_int32(env, argv[5], &port) != napi_ok) {
    napi_throw_type_error(env, NULL, "rtp-io: " SEND_USAGE);
    return -1;
  }
  if ((size_t)offset + *length > buf_len || port < 1 || port > 65535) {
    napi_throw_range_error(env, NULL, "rtp-io: send outside the buffer or to a bad port");
    return -1;
  }
  *data = (uint8_t *)buf + offset;
  memset(to, 0, sizeof *to);
  to->sin_family = AF_INET;
  to->sin_port = htons((uint16_t)port);
  to->sin_addr.s_addr = htonl(address);
  return 0;
}

static int64_t send_now(int fd, const uint8_t *data, uint32_t length, const struct sockaddr_in *to) {
  ssize_t n;
  do n = sendto(fd, data, length, MSG_DONTWAIT, (const struct sockaddr *)to, sizeof *to);
  while (n < 0 && errno == EINTR);
  return n < 0 ? -errno : n;
}

#if RTP_IO_URING
/*
 * ── io_uring: the same reads and sends in two or three system calls a tick instead of one per socket
 * and one per packet ──
 *
 * Why: at 500 calls the per-packet system calls were a third of a media worker's CPU, and on a VM each
 * entry into the kernel costs more than the work it does (docs/benchmarks.md, "io_uring, session 10").
 * io_uring is Linux's own batched interface; liburing is not assumed on the user's machine, so this is
 * the few raw calls it needs (io_uring_setup, io_uring_enter, io_uring_register and the shared rings),
 * after the kernel's documentation (io_uring(7), io_uring_setup(2), io_uring_enter(2)).
 *
 * One ring per thread (Node-API instance data: each media worker has its own), set up with
 * SINGLE_ISSUER and DEFER_TASKRUN (Linux 6.1): the kernel does the receive work for the ring only when
 * this thread asks for completions, once per tick, not in an interrupt of it.
 * - Receiving: each attached socket has one multishot recvmsg armed (Linux 6.0) that takes its buffers
 *   from a ring of provided buffers (Linux 5.19); every datagram becomes a completion carrying its
 *   source address, the SO_TIMESTAMPNS arrival time and the payload. uringRecv copies them into the
 *   caller's buffer in the same layout as recv above and gives the buffers back. A multishot ended by the
 *   kernel (no buffer free) is armed again; what was not read waits in the socket.
 * - Sending: send (for a socket attached to the ring) copies the packet beside its submission entry and queues an IORING_OP_SEND with
 *   the destination (Linux 6.0), MSG_DONTWAIT (done or refused while it is submitted, never kept
 *   waiting, so the copy is free again once submitted) and CQE_SKIP_SUCCESS (only a refusal makes a
 *   completion: uringRecv reports it as a packet of length -2). Every SEND_BATCH sends, and at
 *   uringSubmit, the queue is submitted.
 * - Each completion's user_data is [kind: 8 bits][generation: 24][fd: 32]: a socket's generation goes up
 *   when it is attached and detached, so completions left for a descriptor since closed and reused are
 *   dropped.
 * uringOpen fails (-errno) where io_uring is missing, switched off (kernel.io_uring_disabled, a
 * container's seccomp profile) or older than 6.1; the caller then keeps recv and send above.
 */
#define RING_SQ 256
#define RING_CQ 16384
#define RING_BUFS 2048 /* power of two */
#define RING_BUF_BYTES (2048 + 64) /* SLOT bytes of payload after the recvmsg_out header, the address and the timestamp */
#define RING_BGID 7
#define SEND_BYTES 1536 /* a larger packet is sent at once with sendto */
#define SEND_BATCH 32
#define RECV_CONTROL CMSG_SPACE(sizeof(struct timespec))
#define KIND_RECV 1ULL
#define KIND_SEND 2ULL
#define KIND_CANCEL 3ULL
#define KIND_DONE 0ULL /* a completion already seen (a detach's cancel) */

typedef struct {
  int fd;
  unsigned sq_entries, cq_entries;
  unsigned *sq_head, *sq_tail, *sq_array, sq_mask;
  unsigned *cq_head, *cq_tail, cq_mask;
  struct io_uring_sqe *sqes;
  struct io_uring_cqe *cqes;
  void *sq_map, *cq_map;
  size_t sq_map_len, cq_map_len, sqes_len;
  unsigned sq_local;       /* our tail: entries written, not yet handed over */
  unsigned sends_pending;  /* sends among them */
  struct io_uring_buf_ring *br;
  size_t br_len;
  uint8_t *bufs;
  unsigned br_tail;        /* buffers given back, not yet published */
  uint8_t *send_data;      /* SEND_BYTES per submission entry */
  struct sockaddr_in *send_to;
  struct msghdr recv_msg;  /* the multishot's template: name and control sizes */
  uint32_t *gen;           /* per fd */
  uint8_t *attached;       /* per fd: 1 attached, 2 attached and its multishot must be armed again */
  size_t fds_cap;
  int rearm_wanted;
} Ring;

static int ring_enter(Ring *r, unsigned to_submit, unsigned min_complete, unsigned flags) {
  int n;
  do n = (int)syscall(__NR_io_uring_enter, r->fd, to_submit, min_complete, flags, NULL, 0);
  while (n < 0 && errno == EINTR);
  return n < 0 ? -errno : n;
}

static void ring_free(Ring *r) {
  if (!r) return;
  if (r->fd >= 0) close(r->fd); /* the kernel ends what is armed and unregisters the buffers */
  if (r->sq_map && r->sq_map != MAP_FAILED) munmap(r->sq_map, r->sq_map_len);
  if (r->cq_map && r->cq_map != MAP_FAILED && r->cq_map != r->sq_map) munmap(r->cq_map, r->cq_map_len);
  if (r->sqes && r->sqes != MAP_FAILED) munmap(r->sqes, r->sqes_len);
  if (r->br && r->br != MAP_FAILED) munmap(r->br, r->br_len);
  free(r->bufs);
  free(r->send_data);
  free(r->send_to);
  free(r->gen);
  free(r->attached);
  free(r);
}

static void ring_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  ring_free(data);
}

/* The thread's ring, or NULL (uringOpen not called, or it failed). */
static Ring *ring_of(napi_env env) {
  void *data = NULL;
  if (napi_get_instance_data(env, &data) != napi_ok) return NULL;
  return data;
}

/* Hands every queued entry to the kernel (the sends are done, or refused, when this returns). */
static int ring_submit(Ring *r, unsigned flags) {
  unsigned queued = r->sq_local - *r->sq_tail;
  __atomic_store_n(r->sq_tail, r->sq_local, __ATOMIC_RELEASE);
  r->sends_pending = 0;
  if (!queued && !flags) return 0;
  return ring_enter(r, queued, 0, flags);
}

/* A free submission entry, zeroed; submits what is queued first when the ring is full. */
static struct io_uring_sqe *ring_sqe(Ring *r) {
  if (r->sq_local - __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE) >= r->sq_entries) {
    ring_submit(r, 0);
    if (r->sq_local - __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE) >= r->sq_entries) return NULL;
  }
  struct io_uring_sqe *sqe = &r->sqes[r->sq_local & r->sq_mask];
  memset(sqe, 0, sizeof *sqe);
  r->sq_local++;
  return sqe;
}

static uint64_t tag(uint64_t kind, Ring *r, int fd) {
  return (kind << 56) | ((uint64_t)(r->gen[fd] & 0xffffff) << 32) | (uint32_t)fd;
}

static int ring_arm(Ring *r, int fd) {
  struct io_uring_sqe *sqe = ring_sqe(r);
  if (!sqe) return -EBUSY;
  sqe->opcode = IORING_OP_RECVMSG;
  sqe->fd = fd;
  sqe->addr = (uint64_t)(uintptr_t)&r->recv_msg;
  sqe->len = 1;
  sqe->ioprio = IORING_RECV_MULTISHOT;
  sqe->flags = IOSQE_BUFFER_SELECT;
  sqe->buf_group = RING_BGID;
  sqe->user_data = tag(KIND_RECV, r, fd);
  r->attached[fd] = 1;
  return 0;
}

static void ring_give_back(Ring *r, unsigned bid) {
  struct io_uring_buf *b = &r->br->bufs[r->br_tail & (RING_BUFS - 1)];
  b->addr = (uint64_t)(uintptr_t)(r->bufs + (size_t)bid * RING_BUF_BYTES);
  b->len = RING_BUF_BYTES;
  b->bid = (uint16_t)bid;
  r->br_tail++;
}

static void ring_publish_buffers(Ring *r) {
  __atomic_store_n(&r->br->tail, (uint16_t)r->br_tail, __ATOMIC_RELEASE);
}

static int ring_open(Ring **out) {
  Ring *r = calloc(1, sizeof *r);
  if (!r) return -ENOMEM;
  r->fd = -1;
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  p.cq_entries = RING_CQ;
  int fd = (int)syscall(__NR_io_uring_setup, RING_SQ, &p);
  if (fd < 0) {
    int e = errno;
    free(r);
    return -e;
  }
  r->fd = fd;
  if (!(p.features & IORING_FEAT_SINGLE_MMAP) || !(p.features & IORING_FEAT_NODROP)) {
    ring_free(r);
    return -ENOTSUP;
  }
  r->sq_entries = p.sq_entries;
  r->cq_entries = p.cq_entries;
  size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  r->sq_map_len = r->cq_map_len = sq_len > cq_len ? sq_len : cq_len;
  r->sq_map = mmap(NULL, r->sq_map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
  if (r->sq_map == MAP_FAILED) {
    int e = errno;
    ring_free(r);
    return -e;
  }
  r->cq_map = r->sq_map;
  r->sqes_len = p.sq_entries * sizeof(struct io_uring_sqe);
  r->sqes = mmap(NULL, r->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
  if (r->sqes == MAP_FAILED) {
    int e = errno;
    ring_free(r);
    return -e;
  }
  uint8_t *sq = r->sq_map, *cq = r->cq_map;
  r->sq_head = (unsigned *)(sq + p.sq_off.head);
  r->sq_tail = (unsigned *)(sq + p.sq_off.tail);
  r->sq_mask = *(unsigned *)(sq + p.sq_off.ring_mask);
  r->sq_array = (unsigned *)(sq + p.sq_off.array);
  for (unsigned i = 0; i < p.sq_entries; i++) r->sq_array[i] = i;
  r->sq_local = *r->sq_tail;
  r->cq_head = (unsigned *)(cq + p.cq_off.head);
  r->cq_tail = (unsigned *)(cq + p.cq_off.tail);
  r->cq_mask = *(unsigned *)(cq + p.cq_off.ring_mask);
  r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);

  r->br_len = RING_BUFS * sizeof(struct io_uring_buf);
  r->br = mmap(NULL, r->br_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  r->bufs = malloc((size_t)RING_BUFS * RING_BUF_BYTES);
  r->send_data = malloc((size_t)r->sq_entries * SEND_BYTES);
  r->send_to = calloc(r->sq_entries, sizeof *r->send_to);
  if (r->br == MAP_FAILED || !r->bufs || !r->send_data || !r->send_to) {
    ring_free(r);
    return -ENOMEM;
  }
  struct io_uring_buf_reg reg;
  memset(&reg, 0, sizeof reg);
  reg.ring_addr = (uint64_t)(uintptr_t)r->br;
  reg.ring_entries = RING_BUFS;
  reg.bgid = RING_BGID;
  if (syscall(__NR_io_uring_register, fd, IORING_REGISTER_PBUF_RING, &reg, 1) != 0) {
    int e = errno;
    ring_free(r);
    return -e;
  }
  for (unsigned i = 0; i < RING_BUFS; i++) ring_give_back(r, i);
  ring_publish_buffers(r);
  r->recv_msg.msg_namelen = sizeof(struct sockaddr_in);
  r->recv_msg.msg_controllen = RECV_CONTROL;
  *out = r;
  return 0;
}

static int ring_fd_room(Ring *r, int fd) {
  if ((size_t)fd < r->fds_cap) return 0;
  size_t cap = r->fds_cap ? r->fds_cap : 1024;
  while (cap <= (size_t)fd) cap *= 2;
  uint32_t *gen = realloc(r->gen, cap * sizeof *gen);
  if (!gen) return -ENOMEM;
  r->gen = gen;
  uint8_t *att = realloc(r->attached, cap);
  if (!att) return -ENOMEM;
  r->attached = att;
  memset(r->gen + r->fds_cap, 0, (cap - r->fds_cap) * sizeof *gen);
  memset(r->attached + r->fds_cap, 0, cap - r->fds_cap);
  r->fds_cap = cap;
  return 0;
}

#define URING_USAGE "uring calls take a descriptor (an integer), or (buf, meta, state), or a send's arguments"

static int32_t fd_arg(napi_env env, napi_callback_info info, int *ok) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd = -1;
  *ok = napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc >= 1 && napi_get_value_int32(env, argv[0], &fd) == napi_ok && fd >= 0;
  if (!*ok) napi_throw_type_error(env, NULL, "rtp-io: " URING_USAGE);
  return fd;
}

/* uringOpen() → 0 (this thread's ring is up; again: 0) or -errno (no io_uring here: use recv and send). */
static napi_value uring_open(napi_env env, napi_callback_info info) {
  (void)info;
  if (ring_of(env)) return int_value(env, 0);
  Ring *r = NULL;
  int e = ring_open(&r);
  if (e) return int_value(env, e);
  if (napi_set_instance_data(env, r, ring_finalize, NULL) != napi_ok) {
    ring_free(r);
    return int_value(env, -ENOMEM);
  }
  return int_value(env, 0);
}

/* Cancels fd's multishot and waits until the kernel let go of the socket: 0 or -errno. */
static int ring_cancel(Ring *r, int fd) {
  /* By the multishot's user_data, not by descriptor: the socket may be closed already (then fd names nothing). */
  uint64_t armed = tag(KIND_RECV, r, fd);
  r->attached[fd] = 0;
  r->gen[fd]++; /* what is still in the completion queue for it is dropped */
  struct io_uring_sqe *sqe = ring_sqe(r);
  if (!sqe) return -EBUSY;
  sqe->opcode = IORING_OP_ASYNC_CANCEL;
  sqe->fd = -1;
  sqe->addr = armed;
  uint64_t mine = tag(KIND_CANCEL, r, fd);
  sqe->user_data = mine;
  int e = ring_submit(r, IORING_ENTER_GETEVENTS);
  /* Wait for the cancel's own completion (the multishot's last one comes before it), leaving the others
   * queued: each wait for one more completion is bounded (2 ms), and the whole at 100 of them, so that a
   * full completion queue (the cancel's waiting behind it) cannot hold the worker. */
  struct io_uring_getevents_arg wait;
  struct __kernel_timespec ts = {0, 2000000};
  memset(&wait, 0, sizeof wait);
  wait.ts = (uint64_t)(uintptr_t)&ts;
  for (int round = 0; (e >= 0 || e == -ETIME) && round < 100; round++) {
    unsigned head = *r->cq_head, tail = __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE);
    for (unsigned i = head; i != tail; i++) {
      struct io_uring_cqe *c = &r->cqes[i & r->cq_mask];
      if (c->user_data == mine) {
        c->user_data = KIND_DONE << 56;
        return 0;
      }
    }
    int n;
    do n = (int)syscall(__NR_io_uring_enter, r->fd, 0, tail - head + 1, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &wait, sizeof wait);
    while (n < 0 && errno == EINTR);
    e = n < 0 ? -errno : n;
  }
  return e < 0 ? e : -ETIMEDOUT;
}

/* uringDetach(fd) → 0 or -errno: its multishot is cancelled and the kernel holds the socket no more (it may be closed). */
static napi_value uring_detach(napi_env env, napi_callback_info info) {
  int ok;
  int32_t fd = fd_arg(env, info, &ok);
  if (!ok) return NULL;
  Ring *r = ring_of(env);
  if (!r || (size_t)fd >= r->fds_cap || !r->attached[fd]) return int_value(env, 0);
  return int_value(env, ring_cancel(r, fd));
}

/* uringAttach(fd) → 0 or -errno: its datagrams come out of uringRecv from now on. */
static napi_value uring_attach(napi_env env, napi_callback_info info) {
  int ok;
  int32_t fd = fd_arg(env, info, &ok);
  if (!ok) return NULL;
  Ring *r = ring_of(env);
  if (!r) return int_value(env, -EBADF);
  int e = ring_fd_room(r, fd);
  if (e) return int_value(env, e);
  /* Still attached: that socket was closed without a detach and this one has its number. Cancel the old
   * one's receive first (the kernel's hold on it would keep its port bound). */
  if (r->attached[fd]) ring_cancel(r, fd);
  r->gen[fd]++;
  e = ring_arm(r, fd);
  if (e) return int_value(env, e);
  e = ring_submit(r, 0);
  return int_value(env, e < 0 ? e : 0);
}

/* Queues a send on the ring when fd is attached to it and the packet fits beside its entry: 1, with
 * *result 0 (queued) or -errno; else 0 (send_one sends it at once). */
static int ring_send(napi_env env, int fd, const uint8_t *data, uint32_t length, const struct sockaddr_in *to, int64_t *result) {
  Ring *r = ring_of(env);
  if (!r || fd < 0 || (size_t)fd >= r->fds_cap || !r->attached[fd] || length > SEND_BYTES) return 0;
  struct io_uring_sqe *sqe = ring_sqe(r);
  if (!sqe) {
    *result = -EBUSY;
    return 1;
  }
  unsigned slot = (r->sq_local - 1) & r->sq_mask;
  uint8_t *copy = r->send_data + (size_t)slot * SEND_BYTES;
  memcpy(copy, data, length);
  r->send_to[slot] = *to;
  sqe->opcode = IORING_OP_SEND;
  sqe->fd = fd;
  sqe->addr = (uint64_t)(uintptr_t)copy;
  sqe->len = length;
  sqe->msg_flags = MSG_DONTWAIT;
  sqe->addr2 = (uint64_t)(uintptr_t)&r->send_to[slot];
  sqe->addr_len = sizeof(struct sockaddr_in);
  sqe->flags = IOSQE_CQE_SKIP_SUCCESS;
  sqe->user_data = tag(KIND_SEND, r, fd);
  if (++r->sends_pending >= SEND_BATCH) ring_submit(r, 0);
  *result = 0;
  return 1;
}

/* uringSubmit() → entries submitted or -errno: the sends queued so far leave now. */
static napi_value uring_submit(napi_env env, napi_callback_info info) {
  (void)info;
  Ring *r = ring_of(env);
  if (!r) return int_value(env, -EBADF);
  return int_value(env, ring_submit(r, 0));
}

/*
 * uringRecv(buf, meta, state) → packets: the completions so far, as recv's (meta: RECV_FIELDS each, but
 * its first field is the fd, not an index; a length of -2 is a send the kernel refused). state[0] is
 * set to 1 when buf or meta filled up before the queue was empty (call again), else 0; state[1] counts
 * receive errors other than "no buffer free".
 */
static napi_value uring_recv(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t *meta, *state;
  size_t meta_len, state_len, buf_len;
  void *buf_raw;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL), URING_USAGE);
  if (argc < 3 || napi_get_buffer_info(env, argv[0], &buf_raw, &buf_len) != napi_ok || typed_i32(env, argv[1], &meta, &meta_len) ||
      typed_i32(env, argv[2], &state, &state_len) || state_len < 2) {
    napi_throw_type_error(env, NULL, "rtp-io: uringRecv(buf, meta, state) takes a Buffer and Int32Arrays (state: 2 or more)");
    return NULL;
  }
  if (buf_len < SLOT || meta_len < RECV_FIELDS) {
    napi_throw_range_error(env, NULL, "rtp-io: uringRecv needs room for one packet at least (buf of SLOT bytes, meta of RECV_FIELDS)");
    return NULL;
  }
  Ring *r = ring_of(env);
  if (!r) return int_value(env, -EBADF);
  uint8_t *buf = buf_raw;
  size_t used = 0, packets = 0, max_packets = meta_len / RECV_FIELDS;
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  state[0] = 0;
  /* The kernel runs a bounded amount of deferred receive work per call: ask again while it gives more. */
  for (int round = 0; round < 64; round++) {
    unsigned before = __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE);
    if (round == 0 || before == *r->cq_head) {
      int e = ring_submit(r, IORING_ENTER_GETEVENTS);
      if (e < 0 && e != -EBUSY && e != -EAGAIN) state[1]++;
    }
    unsigned head = *r->cq_head, tail = __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE);
    if (head == tail) break;
    for (; head != tail; head++) {
      struct io_uring_cqe *c = &r->cqes[head & r->cq_mask];
      uint64_t kind = c->user_data >> 56;
      int fd = (int)(uint32_t)c->user_data;
      uint32_t gen = (uint32_t)(c->user_data >> 32) & 0xffffff;
      int current = fd >= 0 && (size_t)fd < r->fds_cap && r->attached[fd] && (r->gen[fd] & 0xffffff) == gen;
      if (kind == KIND_RECV && (c->flags & IORING_CQE_F_BUFFER) && c->res >= 0 && current) {
        if (packets == max_packets || buf_len - used < SLOT) {
          state[0] = 1;
          goto full;
        }
      }
      if (kind == KIND_RECV) {
        if (c->flags & IORING_CQE_F_BUFFER) {
          unsigned bid = c->flags >> IORING_CQE_BUFFER_SHIFT;
          if (current && c->res >= 0) {
            uint8_t *b = r->bufs + (size_t)bid * RING_BUF_BYTES;
            struct io_uring_recvmsg_out *o = (struct io_uring_recvmsg_out *)b;
            struct sockaddr_in *from = (struct sockaddr_in *)(b + sizeof *o);
            uint8_t *control = b + sizeof *o + r->recv_msg.msg_namelen;
            uint8_t *payload = control + r->recv_msg.msg_controllen;
            int32_t *m = meta + packets * RECV_FIELDS;
            uint32_t len = o->payloadlen;
            int whole = !(o->flags & MSG_TRUNC) && len <= (uint32_t)(RING_BUF_BYTES - (payload - b));
            m[0] = fd;
            m[1] = (int32_t)used;
            m[2] = whole ? (int32_t)len : -1;
            m[3] = o->namelen >= sizeof *from && from->sin_family == AF_INET ? (int32_t)ntohl(from->sin_addr.s_addr) : 0;
            m[4] = o->namelen >= sizeof *from && from->sin_family == AF_INET ? ntohs(from->sin_port) : 0;
            m[5] = -1;
            if (whole) memcpy(buf + used, payload, len);
            /* The control messages, as CMSG_NXTHDR walks them, within the bytes the kernel wrote. */
            size_t clen = o->controllen;
            for (size_t at = 0; at + sizeof(struct cmsghdr) <= clen;) {
              struct cmsghdr *cm = (struct cmsghdr *)(control + at);
              if (cm->cmsg_len < sizeof(struct cmsghdr) || at + cm->cmsg_len > clen) break;
              if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS && cm->cmsg_len >= CMSG_LEN(sizeof(struct timespec))) {
                struct timespec ts;
                memcpy(&ts, CMSG_DATA(cm), sizeof ts);
                int64_t age = ((int64_t)(now.tv_sec - ts.tv_sec) * 1000000000 + (now.tv_nsec - ts.tv_nsec)) / 1000;
                m[5] = age < 0 ? 0 : (age > INT32_MAX ? INT32_MAX : (int32_t)age);
              }
              at += CMSG_ALIGN(cm->cmsg_len);
            }
            used += whole ? (len + 15) & ~(size_t)15 : 0;
            packets++;
          }
          ring_give_back(r, bid);
        } else if (c->res < 0 && c->res != -ENOBUFS && c->res != -ECANCELED && current) {
          state[1]++;
        }
        if (!(c->flags & IORING_CQE_F_MORE) && current) {
          r->attached[fd] = 2; /* ended by the kernel: armed again below */
          r->rearm_wanted = 1;
        }
      } else if (kind == KIND_SEND && current && packets < max_packets) {
        int32_t *m = meta + packets * RECV_FIELDS;
        m[0] = fd;
        m[1] = 0;
        m[2] = -2;
        m[3] = c->res;
        m[4] = 0;
        m[5] = -1;
        packets++;
      }
    }
  full:
    __atomic_store_n(r->cq_head, head, __ATOMIC_RELEASE);
    if (state[0]) break;
  }
  ring_publish_buffers(r);
  if (r->rearm_wanted) {
    r->rearm_wanted = 0;
    for (size_t fd = 0; fd < r->fds_cap; fd++) {
      if (r->attached[fd] != 2) continue;
      if (ring_arm(r, (int)fd) != 0) {
        r->attached[fd] = 2;
        r->rearm_wanted = 1;
        break;
      }
    }
    ring_submit(r, 0);
  }
  return int_value(env, (int64_t)packets);
}

#else /* !RTP_IO_URING: the headers are older than Linux 6.1's; the same exports, each saying so */

static napi_value uring_open(napi_env env, napi_callback_info info) {
  (void)info;
  return int_value(env, -ENOSYS);
}
#define uring_attach uring_open
#define uring_detach uring_open
#define uring_submit uring_open
#define uring_recv uring_open

static int ring_send(napi_env env, int fd, const uint8_t *data, uint32_t length, const struct sockaddr_in *to, int64_t *result) {
  (void)env, (void)fd, (void)data, (void)length, (void)to, (void)result;
  return 0;
}

#endif

/*
 * send(fd, buf, offset, length, address, port): queued on this thread's io_uring when fd is attached to
 * it (→ 0; submitted with the next 31 or by uringSubmit or uringRecv), else one sendto now (→ bytes).
 * -errno when refused.
 */
static napi_value send_one(napi_env env, napi_callback_info info) {
  int32_t fd;
  uint8_t *data;
  uint32_t length;
  struct sockaddr_in to;
  if (send_args(env, info, &fd, &data, &length, &to)) return NULL;
  int64_t queued;
  if (ring_send(env, fd, data, length, &to, &queued)) return int_value(env, queued);
  return int_value(env, send_now(fd, data, length, &to));
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"enable", NULL, enable, NULL, NULL, NULL, napi_default, NULL},
    {"recv", NULL, recv_all, NULL, NULL, NULL, napi_default, NULL},
    {"send", NULL, send_one, NULL, NULL, NULL, napi_default, NULL},
    {"uringOpen", NULL, uring_open, NULL, NULL, NULL, napi_default, NULL},
    {"uringAttach", NULL, uring_attach, NULL, NULL, NULL, napi_default, NULL},
    {"uringDetach", NULL, uring_detach, NULL, NULL, NULL, napi_default, NULL},
    {"uringSubmit", NULL, uring_submit, NULL, NULL, NULL, napi_default, NULL},
    {"uringRecv", NULL, uring_recv, NULL, NULL, NULL, napi_default, NULL},
  };
  /* A thread stopped while it loads the addon fails these calls: nothing unset is used (the thread ends anyway). */
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  napi_value fields = int_value(env, RECV_FIELDS), slot = int_value(env, SLOT);
  if (!fields || !slot || napi_set_named_property(env, exports, "RECV_FIELDS", fields) != napi_ok ||
      napi_set_named_property(env, exports, "SLOT", slot) != napi_ok)
    return NULL;
  return exports;
}

NAPI_MODULE_INIT() { return init(env, exports); }
