/*
 * Batched file writes for the WAV recordings (lib/media/batched-file-writes.ts), as a Node-API addon.
 *
 * Why by hand: each flush of a recording (lib/media/wav-writer.ts: its samples, then the header that
 * covers them) was two `fs.write` calls, each one libuv thread-pool request: a request object, a
 * lock and a wake-up of a pool thread (a futex, an inter-processor interrupt on a VM), then a wake-up
 * of the calling thread and a JavaScript callback. At 500 recordings that is 2000 requests a second,
 * ~20 µs each on the media thread alone (docs/benchmarks.md, "Where a media worker's time goes,
 * session 9"). Node has no call that writes several places or several files in one request. Here a
 * whole tick's flushes are one request: one pool thread writes them all with pwrite, then one callback.
 *
 * Exports:
 *   write(fds, positions, data, headers, results, done) → undefined; done() is called (on the calling
 *       thread) once every write has been tried.
 *       fds: Int32Array, positions: Float64Array (where each data goes), data: Buffer[] (or any
 *       Uint8Array), headers: (Buffer | null)[] (written at offset 0 once its data was written whole),
 *       results: Int32Array, one per write: 0, or -errno of the first write that failed (its header
 *       is then not written). The buffers must stay unchanged until done() is called.
 */
#define NAPI_VERSION 8
#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
  int32_t fd;
  int64_t position;
  const uint8_t *data;
  size_t data_len;
  const uint8_t *header;
  size_t header_len;
  int32_t result;
} op_t;

typedef struct {
  napi_async_work work;
  napi_ref keep;     /* [data, headers, results, done]: the buffers stay alive while the pool writes */
  size_t count;
  op_t ops[];
} batch_t;

static int write_all(int fd, const uint8_t *p, size_t n, int64_t at) {
  while (n > 0) {
    ssize_t w = pwrite(fd, p, n, (off_t)at);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (w == 0) return -EIO;
    p += w;
    n -= (size_t)w;
    at += w;
  }
  return 0;
}

static void execute(napi_env env, void *data) {
  (void)env;
  batch_t *b = data;
  for (size_t i = 0; i < b->count; i++) {
    op_t *op = &b->ops[i];
    op->result = write_all(op->fd, op->data, op->data_len, op->position);
    if (op->result == 0 && op->header) op->result = write_all(op->fd, op->header, op->header_len, 0);
  }
}

/*
 * Runs on the calling thread once the pool is done. It may run while that thread is being stopped
 * (worker.terminate(), process.exit() in a worker: Node waits for the pool's requests before it tears
 * the thread down): then Node-API calls that touch JavaScript values fail (napi_pending_exception) and
 * give no value. Each call's status is checked, and a value is used only when its call succeeded: an
 * unset napi_value is a dangling pointer, and that crashed the process (docs/media.md, "The streaming
 * WAV writer and what a crash loses").
 */
static void complete(napi_env env, napi_status status, void *data) {
  batch_t *b = data;
  napi_value keep = NULL, results = NULL, done = NULL, global = NULL;
  napi_typedarray_type type;
  void *raw = NULL;
  size_t out_len = 0;
  if (napi_get_reference_value(env, b->keep, &keep) == napi_ok && keep) {
    if (napi_get_element(env, keep, 2, &results) == napi_ok && results &&
        napi_get_typedarray_info(env, results, &type, &out_len, &raw, NULL, NULL) == napi_ok && type == napi_int32_array && raw) {
      int32_t *out = raw;
      for (size_t i = 0; i < b->count && i < out_len; i++) out[i] = status == napi_ok ? b->ops[i].result : -ECANCELED;
    }
    if (napi_get_element(env, keep, 3, &done) == napi_ok && done && napi_get_global(env, &global) == napi_ok && global)
      napi_call_function(env, global, done, 0, NULL, NULL);
  }
  napi_delete_reference(env, b->keep);
  napi_delete_async_work(env, b->work);
  free(b);
}

static napi_value write_batch(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 6) goto bad;
  napi_typedarray_type type;
  size_t count, n;
  void *raw;
  int32_t *fds;
  double *positions;
  if (napi_get_typedarray_info(env, argv[0], &type, &count, &raw, NULL, NULL) != napi_ok || type != napi_int32_array) goto bad;
  fds = raw;
  if (napi_get_typedarray_info(env, argv[1], &type, &n, &raw, NULL, NULL) != napi_ok || type != napi_float64_array || n < count) goto bad;
  positions = raw;
  uint32_t data_len, headers_len;
  if (napi_get_array_length(env, argv[2], &data_len) != napi_ok || data_len < count) goto bad;
  if (napi_get_array_length(env, argv[3], &headers_len) != napi_ok || headers_len < count) goto bad;
  if (napi_get_typedarray_info(env, argv[4], &type, &n, &raw, NULL, NULL) != napi_ok || type != napi_int32_array || n < count) goto bad;
  napi_valuetype fn;
  if (napi_typeof(env, argv[5], &fn) != napi_ok || fn != napi_function) goto bad;

  batch_t *b = calloc(1, sizeof(batch_t) + count * sizeof(op_t));
  if (!b) {
    napi_throw_error(env, "ENOMEM", "file-io: out of memory");
    return NULL;
  }
  b->count = count;
  for (size_t i = 0; i < count; i++) {
    op_t *op = &b->ops[i];
    napi_value d, h;
    napi_valuetype ht;
    void *p;
    size_t len;
    op->fd = fds[i];
    op->position = (int64_t)positions[i];
    if (napi_get_element(env, argv[2], (uint32_t)i, &d) != napi_ok || napi_get_typedarray_info(env, d, &type, &len, &p, NULL, NULL) != napi_ok ||
        type != napi_uint8_array || op->fd < 0 || positions[i] < 0) {
      free(b);
      goto bad;
    }
    op->data = p;
    op->data_len = len;
    if (napi_get_element(env, argv[3], (uint32_t)i, &h) != napi_ok || napi_typeof(env, h, &ht) != napi_ok) {
      free(b);
      goto bad;
    }
    if (ht != napi_null && ht != napi_undefined) {
      if (napi_get_typedarray_info(env, h, &type, &len, &p, NULL, NULL) != napi_ok || type != napi_uint8_array) {
        free(b);
        goto bad;
      }
      op->header = p;
      op->header_len = len;
    }
  }
  /* Checked as in complete(): on a thread being stopped these calls fail and set nothing. */
  napi_value keep = NULL, name = NULL;
  int kept = napi_create_array_with_length(env, 4, &keep) == napi_ok && keep;
  for (uint32_t i = 0; kept && i < 4; i++) kept = napi_set_element(env, keep, i, argv[2 + i]) == napi_ok;
  if (!kept || napi_create_reference(env, keep, 1, &b->keep) != napi_ok) {
    free(b);
    napi_throw_error(env, NULL, "file-io: the write could not be queued (is the thread stopping?)");
    return NULL;
  }
  if (napi_create_string_utf8(env, "voice:file-io", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, execute, complete, b, &b->work) != napi_ok ||
      napi_queue_async_work(env, b->work) != napi_ok) {
    if (b->work) napi_delete_async_work(env, b->work); /* b is calloc'ed: NULL unless it was made */
    napi_delete_reference(env, b->keep);
    free(b);
    napi_throw_error(env, NULL, "file-io: the write could not be queued");
    return NULL;
  }
  return NULL;
bad:
  napi_throw_type_error(env, NULL, "file-io: write(fds: Int32Array, positions: Float64Array, data: Uint8Array[], headers: (Uint8Array|null)[], results: Int32Array, done: function)");
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"write", NULL, write_batch, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE_INIT() { return init(env, exports); }
