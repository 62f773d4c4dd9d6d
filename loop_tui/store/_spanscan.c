/* The native fast path of a JSONL span import: one pass over each line, in C, without the GIL.
 *
 * `scan(chunk, keys, roles, meta_field, attrs_field)` reads whole lines of Braintrust spans and returns the
 * buffers of Arrow columns (assembled in `import_native.py`). A line is "clean" when every value has a
 * shape whose conversion here is exactly what the row-by-row path (`json.loads` + `schema.normalize_span`)
 * would store: free-form fields are written as Python's `json.dumps(value, ensure_ascii=False,
 * separators=(",", ":"))` writes them, and only when that text is known without Python (a number is copied
 * only when its text is Python's repr of it, for instance). Any other line (an unknown or repeated key, a
 * NaN, a lone surrogate, a number Python writes otherwise, invalid JSON...) comes back "dirty" with its raw
 * bytes, for Python to normalise with the slow path's own code. So a dirty line is never wrong, only slower.
 *
 * Reading JSON values (and `created`) is `spanscan_json.h`'s part; this file knows spans: which key goes to
 * which column, a line's row, the columns, and the Python module. Every read is bounds-checked against the
 * line's end; nothing here trusts the input.
 */
#define PY_SSIZE_T_CLEAN
/* The version of what `scan` takes and returns (its arguments, the roles, the buffers' names and layout): one
 * more with any change to them, and in `import_native.SCANNER_LAYOUT`. An editable install keeps the build
 * it made; one older than its source is then not used (imports take DuckDB's pass until it is rebuilt). */
#define SCAN_LAYOUT 1
#include <Python.h>

#include "spanscan_json.h"

/* ---------- output columns ---------- */

typedef struct { Buf off, data, valid; } StrCol;                    /* utf8, nullable */
typedef struct { Buf loff, coff, data, valid; } ListCol;             /* list<utf8>, nullable */
typedef struct { Buf loff, koff, kdata, vals, vvalid, valid; } MapCol; /* keys list + values list */

enum { F_ID, F_SPAN, F_ROOT, F_MODEL, F_NAME, F_TYPE, F_EXTRA, F_RAW, N_PLAIN };
#define N_FREE 8
enum { L_PARENTS, L_TAGS, N_LISTS };
enum { M_SCORES, M_METRICS, N_MAPS };

/* roles of the known top-level keys (given by Python with the keys) */
enum { R_IGNORE = 0, R_ID = 1, R_SPAN = 2, R_ROOT = 3, R_CREATED = 4, R_PARENTS = 5, R_IS_ROOT = 6,
       R_SCORES = 7, R_METRICS = 8, R_TAGS = 9, R_FREE = 10 /* + free field index */ };

typedef struct {
    StrCol plain[N_PLAIN];
    StrCol free_[N_FREE];
    ListCol lists[N_LISTS];
    MapCol maps[N_MAPS];
    Buf created, created_valid, is_root, is_root_valid, clean, id_hash, id_hash_valid;
    Buf line_no;         /* int32 per row: its line in the chunk, from 1 (blank lines count, as the slow path's) */
    int64_t lines;       /* lines in the chunk, blank ones too */
    struct { Buf off, data; } questions; /* the texts of the numbers Python judges (utf8, no nulls)... */
    Buf question_rows;                   /* ...and the row of each */
    int64_t rows;
} Out;

/* ---------- one row's values, before they are known to be clean ---------- */

#define MAX_KEYS 64
typedef struct {
    Buf text;            /* decoded strings and canonical JSON of this row */
    Buf canon;           /* one free-form field's canonical JSON while it is written */
    Buf keys;            /* the key stack of the objects being read (Cursor.keys) */
    Buf questions;       /* Slice (offsets into the line) of each number whose text Python must judge */
    Buf extra;           /* the fields the schema lacks, as the JSON object Python makes of them (`_extra`) */
    Buf extra_keys;      /* KeyRef into `extra` of each of them */
    Slice plain[N_PLAIN];
    Slice free_[N_FREE];
    Buf list_items[N_LISTS]; /* Slice per item */
    int list_present[N_LISTS];
    Buf map_items[N_MAPS];   /* MapItem per entry */
    int map_present[N_MAPS];
    int64_t created;
    int created_present;
    int is_root, is_root_present;
} Row;

/* ---------- a whole line ---------- */

typedef struct {
    const char *name;
    size_t len;
    int role;
} Known;

typedef struct {
    Known keys[MAX_KEYS];
    int nkeys;
    int meta_field, attrs_field;
} Spec;

static int lookup(const Spec *spec, const char *k, size_t n, int *hint) {
    int start = *hint;
    for (int j = 0; j < spec->nkeys; j++) {
        int i = (start + j) % spec->nkeys;
        if (spec->keys[i].len == n && memcmp(spec->keys[i].name, k, n) == 0) {
            *hint = (i + 1) % spec->nkeys; /* lines list their keys in one order, mostly */
            return i;
        }
    }
    return -1;
}

static void row_reset(Row *row) {
    row->text.len = 0;
    row->keys.len = 0;
    row->questions.len = 0;
    row->extra.len = 0;
    row->extra_keys.len = 0;
    memset(row->plain, 0, sizeof row->plain);
    memset(row->free_, 0, sizeof row->free_);
    for (int i = 0; i < N_LISTS; i++) { row->list_items[i].len = 0; row->list_present[i] = 0; }
    for (int i = 0; i < N_MAPS; i++) { row->map_items[i].len = 0; row->map_present[i] = 0; }
    row->created_present = 0;
    row->is_root_present = 0;
}

/* A field the schema lacks (the cursor just past its key's opening quote), appended to the row's `_extra`
 * object as Python's json.dumps writes {key: value, ...}. */
static int read_extra_field(Cursor *c, Row *row) {
    Buf *extra = &row->extra;
    if (!buf_byte(extra, extra->len ? ',' : '{')) goto oom;
    size_t key_start = extra->len;
    if (!parse_string(c, extra, NULL)) return DIRTY;
    KeyRef key = {key_start, extra->len - key_start};
    size_t before = row->extra_keys.len / sizeof(KeyRef);
    for (size_t i = 0; i < before; i++) { /* the same unknown field twice: Python keeps the last value */
        const KeyRef *other = (const KeyRef *)row->extra_keys.data + i;
        if (other->len == key.len && memcmp(extra->data + other->start, extra->data + key.start, key.len) == 0)
            return DIRTY;
    }
    if (before >= MAX_OBJECT_KEYS) return DIRTY;
    if (!buf_put(&row->extra_keys, &key, sizeof key)) goto oom;
    skip_ws(c);
    if (c->p >= c->end || *c->p != ':') return DIRTY;
    c->p++;
    if (!buf_byte(extra, ':')) goto oom;
    skip_ws(c);
    return canon_value(c, extra, 0, NULL, NULL, NULL, NULL);
oom:
    c->oom = 1;
    return DIRTY;
}

/* One line into `row`: OK when clean. */
static int parse_line(const Spec *spec, Row *row, const unsigned char *p, const unsigned char *end, int *hint,
                      int *oom) {
    Cursor c = {p, end, p, &row->text, &row->questions, &row->keys, 0};
    uint64_t seen = 0;
    row_reset(row);
    skip_ws(&c);
    if (c.p >= c.end || *c.p != '{') return DIRTY;
    c.p++;
    skip_ws(&c);
    if (c.p < c.end && *c.p == '}') c.p++;
    else {
        for (;;) {
            skip_ws(&c);
            if (c.p >= c.end || *c.p != '"') return DIRTY;
            c.p++;
            const unsigned char *key_text = c.p;
            size_t key_start = row->text.len;
            if (!parse_string(&c, NULL, &row->text)) { *oom |= c.oom; return DIRTY; }
            int index = lookup(spec, row->text.data + key_start, row->text.len - key_start, hint);
            row->text.len = key_start;
            if (index < 0) { /* a field the schema lacks: kept in `_extra`, in the order given */
                c.p = key_text;
                if (!read_extra_field(&c, row)) { *oom |= c.oom; return DIRTY; }
                skip_ws(&c);
                if (c.p >= c.end) return DIRTY;
                unsigned char ch = *c.p++;
                if (ch == '}') break;
                if (ch != ',') return DIRTY;
                continue;
            }
            if (seen & ((uint64_t)1 << index)) return DIRTY; /* given twice: Python keeps the last */
            seen |= (uint64_t)1 << index;
            skip_ws(&c);
            if (c.p >= c.end || *c.p != ':') return DIRTY;
            c.p++;
            skip_ws(&c);
            int role = spec->keys[index].role;
            int ok;
            switch (role) {
                case R_ID: ok = read_string_or_null(&c, &row->plain[F_ID]); break;
                case R_SPAN: ok = read_string_or_null(&c, &row->plain[F_SPAN]); break;
                case R_ROOT: ok = read_string_or_null(&c, &row->plain[F_ROOT]); break;
                case R_CREATED: {
                    Slice s;
                    ok = read_string_or_null(&c, &s);
                    if (ok && s.present) {
                        ok = parse_created((const unsigned char *)row->text.data + s.start, s.len, &row->created);
                        row->created_present = 1;
                    }
                    row->text.len = ok && s.present ? s.start : row->text.len;
                    break;
                }
                case R_PARENTS: ok = read_string_list(&c, &row->list_items[L_PARENTS], &row->list_present[L_PARENTS]); break;
                case R_TAGS: ok = read_string_list(&c, &row->list_items[L_TAGS], &row->list_present[L_TAGS]); break;
                case R_IS_ROOT:
                    if (c.end - c.p >= 4 && memcmp(c.p, "true", 4) == 0) { c.p += 4; row->is_root = 1; row->is_root_present = 1; ok = OK; }
                    else if (c.end - c.p >= 5 && memcmp(c.p, "false", 5) == 0) { c.p += 5; row->is_root = 0; row->is_root_present = 1; ok = OK; }
                    else ok = read_null(&c);
                    break;
                case R_SCORES: ok = read_number_map(&c, &row->map_items[M_SCORES], &row->map_present[M_SCORES]); break;
                case R_METRICS: ok = read_number_map(&c, &row->map_items[M_METRICS], &row->map_present[M_METRICS]); break;
                default:
                    if (role >= R_FREE && role < R_FREE + N_FREE) {
                        int f = role - R_FREE;
                        if (read_null(&c)) { ok = OK; break; }
                        Slice *ta = NULL, *tb = NULL;
                        const char *ka = NULL, *kb = NULL;
                        if (f == spec->meta_field) { ta = &row->plain[F_MODEL]; ka = "model"; }
                        if (f == spec->attrs_field) { ta = &row->plain[F_NAME]; ka = "name"; tb = &row->plain[F_TYPE]; kb = "type"; }
                        /* the canonical text goes into a buffer of its own: tracked strings are decoded into
                         * row->text while it is written */
                        row->canon.len = 0;
                        ok = canon_value(&c, &row->canon, 0, ta, ka, tb, kb);
                        *oom |= c.oom;
                        if (ok) {
                            size_t start = row->text.len;
                            if (!buf_put(&row->text, row->canon.data, row->canon.len)) { *oom = 1; ok = DIRTY; }
                            row->free_[f].start = start;
                            row->free_[f].len = row->canon.len;
                            row->free_[f].present = 1;
                        }
                    } else { /* a field the store sets itself or drops: read for validity, not kept */
                        size_t asked = row->questions.len;
                        row->canon.len = 0;
                        ok = canon_value(&c, &row->canon, 0, NULL, NULL, NULL, NULL);
                        *oom |= c.oom;
                        row->questions.len = asked; /* its text is not stored: nothing to ask */
                    }
            }
            *oom |= c.oom;
            if (!ok) return DIRTY;
            skip_ws(&c);
            if (c.p >= c.end) return DIRTY;
            unsigned char ch = *c.p++;
            if (ch == '}') break;
            if (ch != ',') return DIRTY;
        }
    }
    skip_ws(&c);
    if (c.p != c.end) return DIRTY; /* more after the object */
    Slice *id = &row->plain[F_ID];
    if (!id->present || id->len == 0) return DIRTY; /* Python makes a new id */
    return OK;
}

/* ---------- appending a row to the columns ---------- */

static inline int str_append(StrCol *col, const char *data, size_t len, int present) {
    if (present && !buf_put(&col->data, data, len)) return 0;
    if (col->data.len > INT32_MAX) return 0;
    return buf_i32(&col->off, (int32_t)col->data.len) && buf_byte(&col->valid, present ? 1 : 0);
}

static int append_clean(Out *out, Row *row, const char *line, size_t line_len) {
    const char *t = row->text.data;
    Slice id = row->plain[F_ID];
    Slice span = row->plain[F_SPAN].present && row->plain[F_SPAN].len ? row->plain[F_SPAN] : id;
    Slice root = row->plain[F_ROOT].present && row->plain[F_ROOT].len ? row->plain[F_ROOT] : span;
    int ok = str_append(&out->plain[F_ID], t + id.start, id.len, 1)
          && str_append(&out->plain[F_SPAN], t + span.start, span.len, 1)
          && str_append(&out->plain[F_ROOT], t + root.start, root.len, 1);
    for (int f = F_MODEL; f <= F_TYPE; f++)
        ok = ok && str_append(&out->plain[f], t + row->plain[f].start, row->plain[f].len, row->plain[f].present);
    ok = ok && (row->extra.len ? buf_byte(&row->extra, '}') : 1)
            && str_append(&out->plain[F_EXTRA], row->extra.data, row->extra.len, row->extra.len > 0);
    /* a row with numbers Python must judge keeps its line: if one is not Python's text, Python takes the row */
    size_t asked = row->questions.len / sizeof(Slice);
    ok = ok && str_append(&out->plain[F_RAW], line, line_len, asked > 0);
    for (size_t i = 0; i < asked && ok; i++) {
        const Slice *q = (const Slice *)row->questions.data + i;
        ok = buf_put(&out->questions.data, line + q->start, q->len) && out->questions.data.len <= INT32_MAX
          && buf_i32(&out->questions.off, (int32_t)out->questions.data.len) && buf_i64(&out->question_rows, out->rows);
    }
    for (int f = 0; f < N_FREE; f++)
        ok = ok && str_append(&out->free_[f], t + row->free_[f].start, row->free_[f].len, row->free_[f].present);
    for (int l = 0; l < N_LISTS && ok; l++) {
        ListCol *col = &out->lists[l];
        size_t n = row->list_items[l].len / sizeof(Slice);
        const Slice *items = (const Slice *)row->list_items[l].data;
        for (size_t i = 0; i < n && ok; i++) {
            ok = buf_put(&col->data, t + items[i].start, items[i].len) && col->data.len <= INT32_MAX
              && buf_i32(&col->coff, (int32_t)col->data.len);
        }
        ok = ok && col->coff.len / 4 - 1 <= INT32_MAX && buf_i32(&col->loff, (int32_t)(col->coff.len / 4 - 1))
                && buf_byte(&col->valid, row->list_present[l]);
    }
    for (int m = 0; m < N_MAPS && ok; m++) {
        MapCol *col = &out->maps[m];
        size_t n = row->map_items[m].len / sizeof(MapItem);
        const MapItem *items = (const MapItem *)row->map_items[m].data;
        for (size_t i = 0; i < n && ok; i++) {
            ok = buf_put(&col->kdata, t + items[i].start, items[i].len) && col->kdata.len <= INT32_MAX
              && buf_i32(&col->koff, (int32_t)col->kdata.len) && buf_f64(&col->vals, items[i].value)
              && buf_byte(&col->vvalid, items[i].has_value);
        }
        ok = ok && buf_i32(&col->loff, (int32_t)(col->koff.len / 4 - 1)) && buf_byte(&col->valid, row->map_present[m]);
    }
    int is_root = row->is_root_present ? row->is_root
                : !(row->list_present[L_PARENTS] && row->list_items[L_PARENTS].len > 0);
    uint64_t hash = 1469598103934665603ULL; /* FNV-1a of the id: equal ids, equal hashes (import_ids) */
    for (size_t i = 0; i < id.len; i++) hash = (hash ^ (unsigned char)t[id.start + i]) * 1099511628211ULL;
    ok = ok && buf_i64(&out->created, row->created_present ? row->created : 0)
            && buf_byte(&out->created_valid, row->created_present)
            && buf_byte(&out->is_root, is_root) && buf_byte(&out->is_root_valid, 1)
            && buf_byte(&out->clean, 1) && buf_put(&out->id_hash, &hash, 8) && buf_byte(&out->id_hash_valid, 1);
    return ok;
}

static int append_dirty(Out *out, const char *line, size_t len) {
    int ok = 1;
    for (int f = 0; f < N_PLAIN; f++)
        ok = ok && (f == F_RAW ? str_append(&out->plain[f], line, len, 1) : str_append(&out->plain[f], NULL, 0, 0));
    for (int f = 0; f < N_FREE; f++) ok = ok && str_append(&out->free_[f], NULL, 0, 0);
    for (int l = 0; l < N_LISTS; l++)
        ok = ok && buf_i32(&out->lists[l].loff, (int32_t)(out->lists[l].coff.len / 4 - 1)) && buf_byte(&out->lists[l].valid, 0);
    for (int m = 0; m < N_MAPS; m++)
        ok = ok && buf_i32(&out->maps[m].loff, (int32_t)(out->maps[m].koff.len / 4 - 1)) && buf_byte(&out->maps[m].valid, 0);
    uint64_t zero = 0;
    ok = ok && buf_i64(&out->created, 0) && buf_byte(&out->created_valid, 0) && buf_byte(&out->is_root, 0)
            && buf_byte(&out->is_root_valid, 0) && buf_byte(&out->clean, 0) && buf_put(&out->id_hash, &zero, 8)
            && buf_byte(&out->id_hash_valid, 0);
    return ok;
}

static int out_init(Out *out) {
    memset(out, 0, sizeof *out);
    int ok = 1;
    for (int f = 0; f < N_PLAIN; f++) ok = ok && buf_i32(&out->plain[f].off, 0);
    for (int f = 0; f < N_FREE; f++) ok = ok && buf_i32(&out->free_[f].off, 0);
    for (int l = 0; l < N_LISTS; l++) ok = ok && buf_i32(&out->lists[l].loff, 0) && buf_i32(&out->lists[l].coff, 0);
    for (int m = 0; m < N_MAPS; m++) ok = ok && buf_i32(&out->maps[m].loff, 0) && buf_i32(&out->maps[m].koff, 0);
    ok = ok && buf_i32(&out->questions.off, 0);
    return ok;
}

static void out_free(Out *out) {
    for (int f = 0; f < N_PLAIN; f++) { buf_free(&out->plain[f].off); buf_free(&out->plain[f].data); buf_free(&out->plain[f].valid); }
    for (int f = 0; f < N_FREE; f++) { buf_free(&out->free_[f].off); buf_free(&out->free_[f].data); buf_free(&out->free_[f].valid); }
    for (int l = 0; l < N_LISTS; l++) { buf_free(&out->lists[l].loff); buf_free(&out->lists[l].coff); buf_free(&out->lists[l].data); buf_free(&out->lists[l].valid); }
    for (int m = 0; m < N_MAPS; m++) {
        MapCol *c = &out->maps[m];
        buf_free(&c->loff); buf_free(&c->koff); buf_free(&c->kdata); buf_free(&c->vals); buf_free(&c->vvalid); buf_free(&c->valid);
    }
    buf_free(&out->created); buf_free(&out->created_valid); buf_free(&out->is_root); buf_free(&out->is_root_valid);
    buf_free(&out->clean); buf_free(&out->id_hash); buf_free(&out->id_hash_valid);
    buf_free(&out->questions.off); buf_free(&out->questions.data);
    buf_free(&out->question_rows);
    buf_free(&out->line_no);
}

static void row_free(Row *row) {
    buf_free(&row->text);
    buf_free(&row->canon);
    buf_free(&row->keys);
    buf_free(&row->questions);
    buf_free(&row->extra);
    buf_free(&row->extra_keys);
    for (int i = 0; i < N_LISTS; i++) buf_free(&row->list_items[i]);
    for (int i = 0; i < N_MAPS; i++) buf_free(&row->map_items[i]);
}

/* Every line of the chunk (blank ones skipped, as the slow path skips them). */
static int scan_chunk(const Spec *spec, const unsigned char *data, size_t size, Out *out) {
    Row row;
    memset(&row, 0, sizeof row);
    int hint = 0, ok = 1;
    const unsigned char *p = data, *end = data + size;
    while (p < end && ok) {
        const unsigned char *nl = memchr(p, '\n', (size_t)(end - p));
        const unsigned char *line_end = nl ? nl : end;
        /* a line left to Python keeps its newline: Python's error for it then names the column the
         * row-by-row path names (json.loads counts a newline) */
        size_t whole = (size_t)((nl ? nl + 1 : end) - p);
        const unsigned char *q = p;
        out->lines++;
        while (q < line_end && (*q == ' ' || *q == '\t' || *q == '\r')) q++;
        if (q < line_end) {
            int oom = 0;
            if (parse_line(spec, &row, p, line_end, &hint, &oom))
                ok = append_clean(out, &row, (const char *)p, whole);
            else if (oom) ok = 0;
            else ok = append_dirty(out, (const char *)p, whole);
            ok = ok && out->lines <= INT32_MAX && buf_i32(&out->line_no, (int32_t)out->lines);
            out->rows++;
        } /* else a blank line: the slow path skips it too */
        p = nl ? nl + 1 : end;
    }
    row_free(&row);
    return ok;
}

/* ---------- Python ---------- */

static int add_buf(PyObject *dict, const char *name, Buf *b) {
    PyObject *bytes = PyBytes_FromStringAndSize(b->data ? b->data : "", (Py_ssize_t)b->len);
    if (!bytes) return 0;
    int rc = PyDict_SetItemString(dict, name, bytes);
    Py_DECREF(bytes);
    buf_free(b);
    return rc == 0;
}

static const char *PLAIN_NAMES[N_PLAIN] = {"id", "span_id", "root_span_id", "_meta_model", "_span_name", "_span_type",
                                           "_extra", "_raw"};
static const char *LIST_NAMES[N_LISTS] = {"span_parents", "tags"};
static const char *MAP_NAMES[N_MAPS] = {"scores", "metrics"};

static PyObject *to_dict(Out *out) {
    PyObject *d = PyDict_New();
    if (!d) return NULL;
    char name[64];
    int ok = 1;
    for (int f = 0; f < N_PLAIN && ok; f++) {
        snprintf(name, sizeof name, "%s.off", PLAIN_NAMES[f]); ok = ok && add_buf(d, name, &out->plain[f].off);
        snprintf(name, sizeof name, "%s.data", PLAIN_NAMES[f]); ok = ok && add_buf(d, name, &out->plain[f].data);
        snprintf(name, sizeof name, "%s.valid", PLAIN_NAMES[f]); ok = ok && add_buf(d, name, &out->plain[f].valid);
    }
    for (int f = 0; f < N_FREE && ok; f++) {
        snprintf(name, sizeof name, "free%d.off", f); ok = ok && add_buf(d, name, &out->free_[f].off);
        snprintf(name, sizeof name, "free%d.data", f); ok = ok && add_buf(d, name, &out->free_[f].data);
        snprintf(name, sizeof name, "free%d.valid", f); ok = ok && add_buf(d, name, &out->free_[f].valid);
    }
    for (int l = 0; l < N_LISTS && ok; l++) {
        ListCol *c = &out->lists[l];
        snprintf(name, sizeof name, "%s.loff", LIST_NAMES[l]); ok = ok && add_buf(d, name, &c->loff);
        snprintf(name, sizeof name, "%s.coff", LIST_NAMES[l]); ok = ok && add_buf(d, name, &c->coff);
        snprintf(name, sizeof name, "%s.data", LIST_NAMES[l]); ok = ok && add_buf(d, name, &c->data);
        snprintf(name, sizeof name, "%s.valid", LIST_NAMES[l]); ok = ok && add_buf(d, name, &c->valid);
    }
    for (int m = 0; m < N_MAPS && ok; m++) {
        MapCol *c = &out->maps[m];
        snprintf(name, sizeof name, "%s.loff", MAP_NAMES[m]); ok = ok && add_buf(d, name, &c->loff);
        snprintf(name, sizeof name, "%s.koff", MAP_NAMES[m]); ok = ok && add_buf(d, name, &c->koff);
        snprintf(name, sizeof name, "%s.kdata", MAP_NAMES[m]); ok = ok && add_buf(d, name, &c->kdata);
        snprintf(name, sizeof name, "%s.vals", MAP_NAMES[m]); ok = ok && add_buf(d, name, &c->vals);
        snprintf(name, sizeof name, "%s.vvalid", MAP_NAMES[m]); ok = ok && add_buf(d, name, &c->vvalid);
        snprintf(name, sizeof name, "%s.valid", MAP_NAMES[m]); ok = ok && add_buf(d, name, &c->valid);
    }
    ok = ok && add_buf(d, "created", &out->created) && add_buf(d, "created.valid", &out->created_valid)
            && add_buf(d, "is_root", &out->is_root) && add_buf(d, "is_root.valid", &out->is_root_valid)
            && add_buf(d, "clean", &out->clean) && add_buf(d, "id_hash", &out->id_hash)
            && add_buf(d, "id_hash.valid", &out->id_hash_valid)
            && add_buf(d, "questions.off", &out->questions.off) && add_buf(d, "questions.data", &out->questions.data)
            && add_buf(d, "question_rows", &out->question_rows) && add_buf(d, "line_no", &out->line_no);
    if (ok) {
        PyObject *rows = PyLong_FromLongLong(out->rows);
        ok = rows && PyDict_SetItemString(d, "rows", rows) == 0;
        Py_XDECREF(rows);
    }
    if (ok) {
        PyObject *lines = PyLong_FromLongLong(out->lines);
        ok = lines && PyDict_SetItemString(d, "lines", lines) == 0;
        Py_XDECREF(lines);
    }
    if (!ok) { Py_DECREF(d); return NULL; }
    return d;
}

static PyObject *py_scan(PyObject *self, PyObject *args) {
    Py_buffer chunk;
    PyObject *keys;
    Py_buffer roles;
    int meta_field, attrs_field;
    if (!PyArg_ParseTuple(args, "y*O!y*ii", &chunk, &PyTuple_Type, &keys, &roles, &meta_field, &attrs_field))
        return NULL;
    PyObject *result = NULL;
    Spec spec;
    memset(&spec, 0, sizeof spec);
    Py_ssize_t nkeys = PyTuple_GET_SIZE(keys);
    if (nkeys > MAX_KEYS || nkeys != roles.len || nkeys == 0) {
        PyErr_SetString(PyExc_ValueError, "keys and roles must be 1 to 64 alike");
        goto done;
    }
    for (Py_ssize_t i = 0; i < nkeys; i++) {
        Py_ssize_t n;
        const char *s = PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(keys, i), &n);
        if (!s) goto done;
        spec.keys[i].name = s; /* kept alive by the tuple */
        spec.keys[i].len = (size_t)n;
        spec.keys[i].role = ((const unsigned char *)roles.buf)[i];
    }
    spec.nkeys = (int)nkeys;
    spec.meta_field = meta_field;
    spec.attrs_field = attrs_field;
    Out out;
    int ok = out_init(&out);
    if (ok) {
        Py_BEGIN_ALLOW_THREADS
        ok = scan_chunk(&spec, (const unsigned char *)chunk.buf, (size_t)chunk.len, &out);
        Py_END_ALLOW_THREADS
    }
    if (!ok) PyErr_NoMemory();
    else result = to_dict(&out);
    out_free(&out);
done:
    PyBuffer_Release(&chunk);
    PyBuffer_Release(&roles);
    return result;
}

static PyMethodDef methods[] = {
    {"scan", py_scan, METH_VARARGS,
     "scan(chunk, keys, roles, meta_field, attrs_field) -> dict of column buffers for the lines of chunk"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_spanscan",
                                    "Native scanner of Braintrust span lines (see import_native.py).", -1, methods};

PyMODINIT_FUNC PyInit__spanscan(void) {
    PyObject *m = PyModule_Create(&module);
    if (m && (PyModule_AddIntConstant(m, "LAYOUT", SCAN_LAYOUT) < 0
              || PyModule_AddIntConstant(m, "FREE_FORM_FIELDS", N_FREE) < 0)) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
