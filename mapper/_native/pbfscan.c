/*
 * The inner loops of camdensity's PBF camera scan (mapper/sources/pbf_scan.py), in C.
 *
 * Plain C, no Python API: built into a shared library by the build hook (hatch_build.py) and
 * called through ctypes, which releases the GIL for the length of each call. Every function
 * reads buf[start:end) only, writes at most `cap` results, and returns how many it wrote, or
 * -1 when the bytes are malformed, -2 when `cap` is too small. When the library is absent,
 * pbf_scan.py does the same work with numpy (and the tests compare the two).
 */
#include <stdint.h>

#define CD_ABI 4

int cd_abi(void) { return CD_ABI; }

/* One varint at *p (before end): 0 and the value, or -1 (runs past end, longer than 10 bytes). */
static inline int cd_varint(const uint8_t **p, const uint8_t *end, uint64_t *value) {
    uint64_t x = 0;
    int shift = 0;
    const uint8_t *q = *p;
    while (q < end) {
        uint8_t b = *q++;
        x |= (uint64_t)(b & 0x7F) << shift;
        if (b < 0x80) {
            *p = q;
            *value = x;
            return 0;
        }
        shift += 7;
        if (shift > 63) return -1;
    }
    return -1;
}

/* A packed run of unsigned varints. */
int64_t cd_uvarints(const uint8_t *buf, int64_t start, int64_t end, uint64_t *out, int64_t cap) {
    const uint8_t *p = buf + start, *e = buf + end;
    int64_t n = 0;
    while (p < e) {
        uint64_t u;
        if (cd_varint(&p, e, &u)) return -1;
        if (n >= cap) return -2;
        out[n++] = u;
    }
    return n;
}

/* A packed run of zigzag-coded, delta-coded varints (ids, coordinates, refs): the absolute
 * values. The running sum wraps around like numpy's int64 cumsum. */
int64_t cd_deltas(const uint8_t *buf, int64_t start, int64_t end, int64_t *out, int64_t cap) {
    const uint8_t *p = buf + start, *e = buf + end;
    int64_t n = 0;
    uint64_t sum = 0;
    while (p < e) {
        uint64_t u;
        if (cd_varint(&p, e, &u)) return -1;
        if (n >= cap) return -2;
        sum += (u >> 1) ^ (0 - (u & 1));
        out[n++] = (int64_t)sum;
    }
    return n;
}

/* The length-delimited fields with key byte `key` from start to end (a string table: key
 * 0x0A; a group of ways: key 0x1A): the payload start and length of each, as pairs. Any
 * other field is malformed. */
int64_t cd_spans(const uint8_t *buf, int64_t start, int64_t end, int64_t key, int64_t *out,
                 int64_t cap) {
    const uint8_t *p = buf + start, *e = buf + end;
    int64_t n = 0;
    while (p < e) {
        uint64_t len;
        if (*p++ != (uint8_t)key) return -1;
        if (cd_varint(&p, e, &len)) return -1;
        if (len > (uint64_t)(e - p)) return -1;
        if (n >= cap) return -2;
        out[2 * n] = (int64_t)(p - buf);
        out[2 * n + 1] = (int64_t)len;
        n++;
        p += len;
    }
    return n;
}

static inline int cd_in(uint64_t v, const int64_t *set, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if ((uint64_t)set[i] == v) return 1;
    return 0;
}

/* The dense nodes whose key/value list (keys_vals: key, value, ..., 0 per node) holds a key
 * of keys[] with a value of values[]: for each, its node index, and the span of its list
 * from its first byte to its closing 0, as triples in out. *nodes gets how many nodes the
 * lists describe. A 0 where a key belongs closes a node's list, as libosmium reads it. */
int64_t cd_dense_tagged(const uint8_t *buf, int64_t start, int64_t end, const int64_t *keys,
                        int64_t nkeys, const int64_t *values, int64_t nvalues, int64_t *out,
                        int64_t cap, int64_t *nodes) {
    const uint8_t *p = buf + start, *e = buf + end, *first = p;
    int64_t node = 0, n = 0, pos = 0;
    uint64_t key = 0;
    int matched = 0;
    while (p < e) {
        const uint8_t *at = p;
        uint64_t v;
        if (cd_varint(&p, e, &v)) return -1;
        if (pos % 2 == 0 && v == 0) {
            if (matched) {
                if (n >= cap) return -2;
                out[3 * n] = node;
                out[3 * n + 1] = (int64_t)(first - buf);
                out[3 * n + 2] = (int64_t)(at - buf);
                n++;
            }
            node++;
            pos = 0;
            first = p;
            matched = 0;
            continue;
        }
        if (pos % 2 == 0)
            key = v;
        else if (!matched && cd_in(key, keys, nkeys) && cd_in(v, values, nvalues))
            matched = 1;
        pos++;
    }
    if (pos != 0) return -1; /* the last list has no closing 0 */
    *nodes = node;
    return n;
}

/* How many varints a packed run holds, or -1 when its last one runs past its end. */
int64_t cd_count(const uint8_t *buf, int64_t start, int64_t end) {
    int64_t n = 0;
    for (int64_t i = start; i < end; i++)
        n += buf[i] < 0x80;
    if (end > start && buf[end - 1] >= 0x80) return -1;
    return n;
}

/* A dense-node key/value list checked against its block: every string index below
 * `strings`, every list closed by its 0. Returns how many lists (nodes) it holds, or -1. */
int64_t cd_kv_check(const uint8_t *buf, int64_t start, int64_t end, int64_t strings) {
    const uint8_t *p = buf + start, *e = buf + end;
    int64_t nodes = 0, pos = 0;
    while (p < e) {
        uint64_t v;
        if (cd_varint(&p, e, &v)) return -1;
        if (pos % 2 == 0 && v == 0) {
            nodes++;
            pos = 0;
            continue;
        }
        if (v >= (uint64_t)strings) return -1;
        pos++;
    }
    return pos == 0 ? nodes : -1;
}

/* The value of a counter shared by forked processes (anonymous shared memory), then add 1:
 * which block a scanning process takes next. */
int64_t cd_take(int64_t *counter) { return __atomic_fetch_add(counter, 1, __ATOMIC_SEQ_CST); }
