/* The JSON half of the native span scanner (`_spanscan.c` includes this file once): growable buffers, the
 * ISO-8601 times `created` holds, and JSON values read as Python's `json.loads` reads them and written as
 * `json.dumps(value, ensure_ascii=False, separators=(",", ":"))` writes them, or DIRTY where Python's own
 * code must decide (a number Python writes otherwise, a lone surrogate, a repeated key, invalid JSON...).
 * Nothing here knows spans or Python objects: the cursor's `text` and `questions` buffers are the caller's.
 *
 * Every read is bounds-checked against the cursor's end; nothing here trusts the input.
 */
#ifndef LOOP_TUI_SPANSCAN_JSON_H
#define LOOP_TUI_SPANSCAN_JSON_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---------- growable buffers ---------- */

typedef struct {
    char *data;
    size_t len, cap;
} Buf;

static int buf_grow(Buf *b, size_t extra) {
    if (b->len + extra <= b->cap) return 1;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra) cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) return 0;
    b->data = p;
    b->cap = cap;
    return 1;
}
static inline int buf_put(Buf *b, const void *src, size_t n) {
    if (n == 0) return 1; /* a buffer not yet grown has no data: memcpy to NULL is undefined even for 0 bytes */
    if (!buf_grow(b, n)) return 0;
    memcpy(b->data + b->len, src, n);
    b->len += n;
    return 1;
}
static inline int buf_byte(Buf *b, unsigned char c) {
    if (b->len == b->cap && !buf_grow(b, 1)) return 0;
    b->data[b->len++] = (char)c;
    return 1;
}
static inline int buf_i32(Buf *b, int32_t v) { return buf_put(b, &v, sizeof v); }
static inline int buf_i64(Buf *b, int64_t v) { return buf_put(b, &v, sizeof v); }
static inline int buf_f64(Buf *b, double v) { return buf_put(b, &v, sizeof v); }
static void buf_free(Buf *b) { free(b->data); b->data = NULL; b->len = b->cap = 0; }

/* ---------- reading a line ---------- */

typedef struct { size_t start, len; int present; } Slice; /* a piece of the cursor's `text` */
typedef struct { size_t start, len; double value; int has_value; } MapItem;
typedef struct { size_t start, len; } KeyRef;

typedef struct {
    const unsigned char *p, *end;
    const unsigned char *line; /* the line's first byte (questions are kept as offsets into it) */
    Buf *text;      /* decoded strings the caller keeps (ids, tracked fields), as Slices into it */
    Buf *questions; /* Slice (offsets into the line) of each number whose text Python must judge */
    Buf *keys;      /* KeyRef of the keys of the objects being read, innermost last */
    int oom;
} Cursor;

#define DIRTY 0
#define OK 1
#define MAX_DEPTH 200      /* Python's json.loads recurses; deeper lines go to it (and its limit)... */
#define MAX_INT_DIGITS 4300 /* ...as do integers longer than Python reads (sys.int_info.default_max_str_digits) */
#define MAX_OBJECT_KEYS 256 /* a repeated key is looked for by comparing keys; bigger objects: Python */

static inline void skip_ws(Cursor *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static int hexval(unsigned char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

static int read_u4(Cursor *c, uint32_t *out) {
    if (c->end - c->p < 4) return DIRTY;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(c->p[i]);
        if (h < 0) return DIRTY;
        v = (v << 4) | (uint32_t)h;
    }
    c->p += 4;
    *out = v;
    return OK;
}

static int put_utf8(Buf *b, uint32_t cp) {
    unsigned char s[4];
    size_t n;
    if (cp < 0x80) { s[0] = (unsigned char)cp; n = 1; }
    else if (cp < 0x800) { s[0] = 0xC0 | (cp >> 6); s[1] = 0x80 | (cp & 0x3F); n = 2; }
    else if (cp < 0x10000) { s[0] = 0xE0 | (cp >> 12); s[1] = 0x80 | ((cp >> 6) & 0x3F); s[2] = 0x80 | (cp & 0x3F); n = 3; }
    else { s[0] = 0xF0 | (cp >> 18); s[1] = 0x80 | ((cp >> 12) & 0x3F); s[2] = 0x80 | ((cp >> 6) & 0x3F); s[3] = 0x80 | (cp & 0x3F); n = 4; }
    return buf_put(b, s, n);
}

/* A code point as Python's json.dumps(ensure_ascii=False) writes it inside a string. */
static int put_canonical_cp(Buf *b, uint32_t cp) {
    switch (cp) {
        case '"': return buf_put(b, "\\\"", 2);
        case '\\': return buf_put(b, "\\\\", 2);
        case '\n': return buf_put(b, "\\n", 2);
        case '\r': return buf_put(b, "\\r", 2);
        case '\t': return buf_put(b, "\\t", 2);
        case '\b': return buf_put(b, "\\b", 2);
        case '\f': return buf_put(b, "\\f", 2);
        default: break;
    }
    if (cp < 0x20) {
        static const char hex[] = "0123456789abcdef";
        char s[6] = {'\\', 'u', '0', '0', hex[cp >> 4], hex[cp & 15]};
        return buf_put(b, s, 6);
    }
    return put_utf8(b, cp);
}

/* The length of a valid UTF-8 sequence at p (starting with a byte >= 0x80), or 0 (as Python's strict decoder). */
static size_t utf8_len(const unsigned char *p, const unsigned char *end) {
    unsigned char c = p[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c == 0xE0) { n = 3; lo = 0xA0; }
    else if (c >= 0xE1 && c <= 0xEC) n = 3;
    else if (c == 0xED) { n = 3; hi = 0x9F; }
    else if (c >= 0xEE && c <= 0xEF) n = 3;
    else if (c == 0xF0) { n = 4; lo = 0x90; }
    else if (c >= 0xF1 && c <= 0xF3) n = 4;
    else if (c == 0xF4) { n = 4; hi = 0x8F; }
    else return 0;
    if ((size_t)(end - p) < n) return 0;
    if (p[1] < lo || p[1] > hi) return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF) return 0;
    return n;
}

/* A string (the cursor just past its opening quote): its canonical JSON text (quotes included) to `canon`
 * and its decoded bytes to `dec`, either may be NULL. */
static int parse_string(Cursor *c, Buf *canon, Buf *dec) {
    if (canon && !buf_byte(canon, '"')) goto oom;
    for (;;) {
        const unsigned char *run = c->p;
        while (c->p < c->end) {
            unsigned char ch = *c->p;
            if (ch == '"' || ch == '\\' || ch < 0x20 || ch >= 0x80) break;
            c->p++;
        }
        if (c->p > run) {
            size_t n = (size_t)(c->p - run);
            if (canon && !buf_put(canon, run, n)) goto oom;
            if (dec && !buf_put(dec, run, n)) goto oom;
        }
        if (c->p >= c->end) return DIRTY; /* unterminated */
        unsigned char ch = *c->p;
        if (ch == '"') {
            c->p++;
            if (canon && !buf_byte(canon, '"')) goto oom;
            return OK;
        }
        if (ch < 0x20) return DIRTY; /* a raw control character: json.loads refuses it */
        if (ch >= 0x80) {
            size_t n = utf8_len(c->p, c->end);
            if (!n) return DIRTY;
            if (canon && !buf_put(canon, c->p, n)) goto oom;
            if (dec && !buf_put(dec, c->p, n)) goto oom;
            c->p += n;
            continue;
        }
        /* an escape */
        c->p++;
        if (c->p >= c->end) return DIRTY;
        uint32_t cp;
        switch (*c->p++) {
            case '"': cp = '"'; break;
            case '\\': cp = '\\'; break;
            case '/': cp = '/'; break;
            case 'b': cp = '\b'; break;
            case 'f': cp = '\f'; break;
            case 'n': cp = '\n'; break;
            case 'r': cp = '\r'; break;
            case 't': cp = '\t'; break;
            case 'u': {
                if (!read_u4(c, &cp)) return DIRTY;
                if (cp >= 0xDC00 && cp <= 0xDFFF) return DIRTY; /* a lone low surrogate */
                if (cp >= 0xD800 && cp <= 0xDBFF) {                /* must be a pair */
                    uint32_t low;
                    if (c->end - c->p < 6 || c->p[0] != '\\' || c->p[1] != 'u') return DIRTY;
                    c->p += 2;
                    if (!read_u4(c, &low) || low < 0xDC00 || low > 0xDFFF) return DIRTY;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                }
                break;
            }
            default: return DIRTY;
        }
        if (canon && !put_canonical_cp(canon, cp)) goto oom;
        if (dec && !put_utf8(dec, cp)) goto oom;
    }
oom:
    c->oom = 1;
    return DIRTY;
}

typedef struct {
    const unsigned char *start, *int_start, *int_end, *frac_start, *frac_end, *exp_start, *exp_end;
    int negative, exp_negative, exp_sign;
} NumberText;

/* JSON's number grammar, as Python's scanner reads it. */
static int scan_number(Cursor *c, NumberText *n) {
    memset(n, 0, sizeof *n);
    n->start = c->p;
    if (c->p < c->end && *c->p == '-') { n->negative = 1; c->p++; }
    n->int_start = c->p;
    if (c->p >= c->end) return DIRTY;
    if (*c->p == '0') c->p++;
    else if (*c->p >= '1' && *c->p <= '9') { while (c->p < c->end && *c->p >= '0' && *c->p <= '9') c->p++; }
    else return DIRTY; /* NaN, Infinity, -Infinity: Python reads them, stores null: its path */
    n->int_end = c->p;
    if (c->p < c->end && *c->p == '.') {
        c->p++;
        n->frac_start = c->p;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') c->p++;
        n->frac_end = c->p;
        if (n->frac_end == n->frac_start) return DIRTY;
    }
    if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
        c->p++;
        if (c->p < c->end && (*c->p == '+' || *c->p == '-')) { n->exp_sign = 1; n->exp_negative = *c->p == '-'; c->p++; }
        n->exp_start = c->p;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') c->p++;
        n->exp_end = c->p;
        if (n->exp_end == n->exp_start) return DIRTY;
    }
    return OK;
}

enum { NOT_PYTHONS = 0, PYTHONS = 1, ASK_PYTHON = 2 };

/* Whether the number's text is exactly what Python writes for the value json.loads makes of it: an int's
 * digits, or a float's repr. A float with at most 15 significant digits in the normal range reads back as
 * itself (DBL_DIG), so its repr is those digits in repr's layout: fixed for 1e-4 <= |x| < 1e16 (at least one
 * digit after the point, no trailing zero), else `d[.ddd]e[+-]XX`. A float in that layout with 16 or 17
 * digits (0.30000000000000004, time.time() values) may or may not be its repr: ASK_PYTHON, and Python's own
 * repr(float(text)) decides after the chunk (`import_native._answer`). Anything else is not Python's text. */
static int number_is_canonical(const NumberText *n) {
    size_t int_len = (size_t)(n->int_end - n->int_start);
    if (!n->frac_start && !n->exp_start) { /* an int */
        if (n->negative && int_len == 1 && n->int_start[0] == '0') return NOT_PYTHONS; /* -0 is written 0 */
        return int_len <= MAX_INT_DIGITS ? PYTHONS : NOT_PYTHONS;
    }
    size_t frac_len = n->frac_start ? (size_t)(n->frac_end - n->frac_start) : 0;
    size_t significant;
    if (!n->exp_start) { /* fixed notation */
        if (frac_len > 1 && n->frac_end[-1] == '0') return NOT_PYTHONS; /* 1.50 is written 1.5 */
        if (int_len > 16) return NOT_PYTHONS;                             /* |x| >= 1e16: Python uses an exponent */
        if (int_len == 1 && n->int_start[0] == '0') {
            if (frac_len == 1 && n->frac_start[0] == '0') return PYTHONS; /* 0.0, -0.0 */
            size_t zeros = 0;
            while (zeros < frac_len && n->frac_start[zeros] == '0') zeros++;
            if (zeros > 3) return NOT_PYTHONS; /* below 1e-4: Python uses an exponent */
            significant = frac_len - zeros;
        } else if (frac_len == 1 && n->frac_start[0] == '0') { /* X.0: the significant digits of X */
            significant = int_len;
            while (significant > 1 && n->int_start[significant - 1] == '0') significant--;
        } else {
            significant = int_len + frac_len;
        }
        return significant <= 15 ? PYTHONS : significant <= 17 ? ASK_PYTHON : NOT_PYTHONS;
    }
    /* exponent notation: one digit 1-9, optional fraction without a trailing zero, e, a sign, 2+ digits */
    if (int_len != 1 || n->int_start[0] == '0') return NOT_PYTHONS;
    if (n->frac_start && (n->frac_end[-1] == '0')) return NOT_PYTHONS; /* also 1.0e+20 (Python writes 1e+20) */
    if (!n->exp_sign) return NOT_PYTHONS;
    if (n->exp_start[-2] != 'e') return NOT_PYTHONS; /* 'E' */
    size_t exp_len = (size_t)(n->exp_end - n->exp_start);
    if (exp_len < 2 || exp_len > 3) return NOT_PYTHONS;             /* e-05, e+16, e-300; not e-5 */
    if (exp_len == 3 && n->exp_start[0] == '0') return NOT_PYTHONS; /* not e-005 */
    int e = 0;
    for (size_t i = 0; i < exp_len; i++) e = e * 10 + (n->exp_start[i] - '0');
    if (n->exp_negative) e = -e;
    if (e > -5 && e < 16) return NOT_PYTHONS; /* Python writes these in fixed notation */
    significant = 1 + frac_len;
    if (significant > 17) return NOT_PYTHONS;
    return significant <= 15 && e >= -300 && e <= 300 ? PYTHONS : ASK_PYTHON; /* beyond: subnormal, overflow */
}

/* A number's value as Python's float() of what json.loads makes of it (correctly rounded, as strtod is).
 * Values that could overflow, or have long digit strings, are left to Python. */
static int number_value(const NumberText *n, const unsigned char *end_of_text, double *out) {
    size_t len = (size_t)(end_of_text - n->start);
    if (len > 100) return DIRTY;
    if (n->exp_start) {
        size_t exp_len = (size_t)(n->exp_end - n->exp_start);
        if (exp_len > 3) return DIRTY;
        int e = 0;
        for (size_t i = 0; i < exp_len; i++) e = e * 10 + (n->exp_start[i] - '0');
        if (e > 300) return DIRTY;
    }
    char text[128];
    memcpy(text, n->start, len);
    text[len] = 0;
    char *stop = NULL;
    double v = strtod(text, &stop);
    if (stop != text + len || !isfinite(v)) return DIRTY; /* a locale with another decimal point: Python's */
    if (!n->frac_start && !n->exp_start && v == 0) v = 0.0; /* json.loads reads `-0` as the int 0: float 0.0, not -0.0 */
    *out = v;
    return OK;
}

static int canon_value(Cursor *c, Buf *out, int depth, Slice *track_a, const char *key_a, Slice *track_b,
                       const char *key_b);

/* An object or array (the cursor on its opening bracket), written canonically to `out`. At depth 0 of the
 * tracked fields (metadata, span_attributes), a string value of `key_a` / `key_b` is also decoded into the
 * row's text as `track_a` / `track_b` (`metadata.model`, `span_attributes.name` and `.type`). */
static int canon_container(Cursor *c, Buf *out, int depth, Slice *track_a, const char *key_a, Slice *track_b,
                           const char *key_b) {
    if (depth >= MAX_DEPTH) return DIRTY;
    size_t base = c->keys->len / sizeof(KeyRef); /* this object's keys follow its parents' on the stack */
    int nkeys = 0, result = DIRTY;
    unsigned char open = *c->p++;
    int is_object = open == '{';
    if (!buf_byte(out, open)) goto oom;
    skip_ws(c);
    if (c->p < c->end && *c->p == (is_object ? '}' : ']')) {
        c->p++;
        if (!buf_byte(out, is_object ? '}' : ']')) goto oom;
        return OK;
    }
    for (;;) {
        skip_ws(c);
        Slice *track = NULL;
        if (is_object) {
            if (c->p >= c->end || *c->p != '"') goto out;
            c->p++;
            size_t key_start = out->len;
            if (!parse_string(c, out, NULL)) goto out;
            size_t key_len = out->len - key_start;
            /* a repeated key: Python keeps the last value at the first key's place; equal keys have equal
             * canonical texts, so the written texts are compared */
            if (nkeys == MAX_OBJECT_KEYS) goto out;
            const KeyRef *keys = (const KeyRef *)c->keys->data + base;
            for (int i = 0; i < nkeys; i++)
                if (keys[i].len == key_len && memcmp(out->data + keys[i].start, out->data + key_start, key_len) == 0)
                    goto out;
            KeyRef ref = {key_start, key_len};
            if (!buf_put(c->keys, &ref, sizeof ref)) goto oom;
            nkeys++;
            if (depth == 0) {
                const char *k = out->data + key_start + 1;
                size_t kl = key_len - 2;
                if (key_a && kl == strlen(key_a) && memcmp(k, key_a, kl) == 0) track = track_a;
                else if (key_b && kl == strlen(key_b) && memcmp(k, key_b, kl) == 0) track = track_b;
            }
            skip_ws(c);
            if (c->p >= c->end || *c->p != ':') goto out;
            c->p++;
            if (!buf_byte(out, ':')) goto oom;
            skip_ws(c);
        }
        if (track && c->p < c->end && *c->p == '"') {
            Buf *text = c->text;
            c->p++;
            size_t start = text->len;
            if (!parse_string(c, out, text)) goto out;
            track->start = start;
            track->len = text->len - start;
            track->present = 1;
        } else {
            if (track) track->present = 0; /* not a string: Python's .get() of it is not taken either */
            if (!canon_value(c, out, depth + 1, NULL, NULL, NULL, NULL)) goto out;
        }
        skip_ws(c);
        if (c->p >= c->end) goto out;
        unsigned char ch = *c->p++;
        if (ch == ',') {
            if (!buf_byte(out, ',')) goto oom;
            continue;
        }
        if (ch == (is_object ? '}' : ']')) {
            if (!buf_byte(out, ch)) goto oom;
            result = OK;
        }
        goto out;
    }
oom:
    c->oom = 1;
out:
    c->keys->len = base * sizeof(KeyRef);
    return result;
}

static int canon_value(Cursor *c, Buf *out, int depth, Slice *track_a, const char *key_a, Slice *track_b,
                       const char *key_b) {
    if (c->p >= c->end) return DIRTY;
    unsigned char ch = *c->p;
    if (ch == '{' || ch == '[') return canon_container(c, out, depth, track_a, key_a, track_b, key_b);
    if (ch == '"') {
        c->p++;
        return parse_string(c, out, NULL);
    }
    if (ch == 't' || ch == 'f' || ch == 'n') {
        const char *word = ch == 't' ? "true" : ch == 'f' ? "false" : "null";
        size_t n = strlen(word);
        if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0) return DIRTY;
        c->p += n;
        if (!buf_put(out, word, n)) { c->oom = 1; return DIRTY; }
        return OK;
    }
    NumberText num;
    if (!scan_number(c, &num)) return DIRTY;
    int verdict = number_is_canonical(&num);
    if (verdict == NOT_PYTHONS) return DIRTY;
    if (verdict == ASK_PYTHON) {
        Slice question = {(size_t)(num.start - c->line), (size_t)(c->p - num.start), 1};
        if (!buf_put(c->questions, &question, sizeof question)) { c->oom = 1; return DIRTY; }
    }
    if (!buf_put(out, num.start, (size_t)(c->p - num.start))) { c->oom = 1; return DIRTY; }
    return OK;
}

/* null (absent: 0) or a string decoded into the row's text. */
static int read_string_or_null(Cursor *c, Slice *s) {
    if (c->p < c->end && *c->p == 'n') {
        if (c->end - c->p < 4 || memcmp(c->p, "null", 4) != 0) return DIRTY;
        c->p += 4;
        s->present = 0;
        return OK;
    }
    if (c->p >= c->end || *c->p != '"') return DIRTY; /* a number or another type: Python's path decides */
    c->p++;
    size_t start = c->text->len;
    if (!parse_string(c, NULL, c->text)) return DIRTY;
    s->start = start;
    s->len = c->text->len - start;
    s->present = 1;
    return OK;
}

static int read_null(Cursor *c) {
    if (c->end - c->p < 4 || memcmp(c->p, "null", 4) != 0) return 0;
    c->p += 4;
    return 1;
}

/* null or a list of strings (span_parents, tags). */
static int read_string_list(Cursor *c, Buf *items, int *present) {
    items->len = 0;
    if (read_null(c)) { *present = 0; return OK; }
    if (c->p >= c->end || *c->p != '[') return DIRTY;
    c->p++;
    *present = 1;
    skip_ws(c);
    if (c->p < c->end && *c->p == ']') { c->p++; return OK; }
    for (;;) {
        skip_ws(c);
        Slice s;
        if (c->p >= c->end || *c->p != '"') return DIRTY;
        if (!read_string_or_null(c, &s)) return DIRTY;
        if (!buf_put(items, &s, sizeof s)) { c->oom = 1; return DIRTY; }
        skip_ws(c);
        if (c->p >= c->end) return DIRTY;
        unsigned char ch = *c->p++;
        if (ch == ']') return OK;
        if (ch != ',') return DIRTY;
    }
}

/* null or an object of name -> number or null (scores, metrics). A repeated name is kept as it comes: the
 * Python side keeps the first place and the last value, as a dict does. */
static int read_number_map(Cursor *c, Buf *items, int *present) {
    items->len = 0;
    if (read_null(c)) { *present = 0; return OK; }
    if (c->p >= c->end || *c->p != '{') return DIRTY;
    c->p++;
    *present = 1;
    skip_ws(c);
    if (c->p < c->end && *c->p == '}') { c->p++; return OK; }
    for (;;) {
        skip_ws(c);
        Slice key;
        if (c->p >= c->end || *c->p != '"') return DIRTY;
        if (!read_string_or_null(c, &key)) return DIRTY;
        skip_ws(c);
        if (c->p >= c->end || *c->p != ':') return DIRTY;
        c->p++;
        skip_ws(c);
        MapItem item = {key.start, key.len, 0.0, 0};
        if (!read_null(c)) {
            NumberText num;
            if (!scan_number(c, &num) || !number_value(&num, c->p, &item.value)) return DIRTY;
            item.has_value = 1;
        }
        if (!buf_put(items, &item, sizeof item)) { c->oom = 1; return DIRTY; }
        skip_ws(c);
        if (c->p >= c->end) return DIRTY;
        unsigned char ch = *c->p++;
        if (ch == '}') return OK;
        if (ch != ',') return DIRTY;
    }
}

/* ---------- created: the ISO-8601 forms the slow path's fromisoformat reads alike ---------- */

static int digits(const unsigned char *p, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return 0;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return 1;
}

static int64_t days_from_civil(int64_t y, int m, int d) { /* days since 1970-01-01 (proleptic Gregorian) */
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* YYYY-MM-DD([T ]hh:mm(:ss(.f{1,6})?)?(Z|[+-]hh:mm)?)? with a real date: its microseconds since the epoch. */
static int parse_created(const unsigned char *s, size_t n, int64_t *out) {
    int y, mo, d, h = 0, mi = 0, sec = 0, us = 0, off = 0;
    if (n < 10 || s[4] != '-' || s[7] != '-') return 0;
    if (!digits(s, 4, &y) || s[0] == '0' || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d)) return 0;
    if (mo < 1 || mo > 12 || d < 1) return 0;
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[mo - 1] + (mo == 2 && leap)) return 0;
    size_t i = 10;
    if (i < n) {
        if (s[i] != 'T' && s[i] != ' ') return 0;
        if (n < i + 6 || !digits(s + i + 1, 2, &h) || s[i + 3] != ':' || !digits(s + i + 4, 2, &mi)) return 0;
        if (h > 23 || mi > 59) return 0;
        i += 6;
        if (i < n && s[i] == ':') {
            if (n < i + 3 || !digits(s + i + 1, 2, &sec) || sec > 59) return 0;
            i += 3;
            if (i < n && s[i] == '.') {
                i++;
                int k = 0;
                while (i < n && k < 6 && s[i] >= '0' && s[i] <= '9') { us = us * 10 + (s[i] - '0'); i++; k++; }
                if (k == 0) return 0;
                for (; k < 6; k++) us *= 10;
            }
        }
        if (i < n) {
            if (s[i] == 'Z') i++;
            else if (s[i] == '+' || s[i] == '-') {
                int oh, om;
                if (n < i + 6 || !digits(s + i + 1, 2, &oh) || s[i + 3] != ':' || !digits(s + i + 4, 2, &om)) return 0;
                if (oh > 23 || om > 59) return 0;
                off = (s[i] == '-' ? -1 : 1) * (oh * 60 + om);
                i += 6;
            } else return 0;
        }
    }
    if (i != n) return 0;
    int64_t seconds = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - (int64_t)off * 60;
    *out = seconds * 1000000 + us;
    return 1;
}

#endif /* LOOP_TUI_SPANSCAN_JSON_H */
