/* dups.c: exact duplicate rows of a data set in one distributed pass (nvmm/dups.h): each rank
 * hashes the rows of its share, collapses equal ones, routes them by hash to their owner rank,
 * which merges what it receives by (hash, values) and counts exact runs. */
#include "nvmm/dups.h"

#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "comm.h"
#include "fault.h"

/* Bytes of records a rank builds from one chunk of rows: large enough that one MPI_Alltoallv
 * moves a useful amount, small enough that the chunk buffers stay far below the data (4 MiB
 * is a few MPI eager-to-rendezvous messages per rank pair). */
#define CHUNK_BYTES ((size_t)4 << 20)

/* A record is REC_HEAD + d words: the row's hash, its count (rows equal to it seen so far),
 * its width d (so that qsort's comparator, which has no context, knows it), then the row's
 * values as IEEE bit patterns with -0.0 made 0.0. */
enum { REC_HASH = 0, REC_COUNT = 1, REC_WIDTH = 2, REC_HEAD = 3 };

/* splitmix64's finalizer (Steele, Lea and Flood 2014): a bijective mix of 64 bits. */
static uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

/* The hash of d value words, keeping its low bits bits only (64 but under the test hook that
 * forces collisions). */
static uint64_t row_hash(const uint64_t *v, size_t d, int bits) {
  uint64_t h = 0x243f6a8885a308d3u ^ (uint64_t)d;
  for (size_t j = 0; j < d; j++)
    h = mix64(h ^ v[j]);
  return bits >= 64 ? h : h & ((UINT64_C(1) << bits) - 1);
}

static double word_value(uint64_t w) {
  double x;
  memcpy(&x, &w, sizeof x);
  return x;
}

/* Orders rows by value, lexicographically (the values are finite and -0.0 is gone, so < is a
 * total order and equal means bitwise equal). */
static int values_cmp(const uint64_t *a, const uint64_t *b, size_t d) {
  for (size_t j = 0; j < d; j++) {
    double x = word_value(a[j]), y = word_value(b[j]);
    if (x != y)
      return x < y ? -1 : 1;
  }
  return 0;
}

/* values_cmp of rows held as doubles. */
static int rows_cmp(const double *a, const double *b, size_t d) {
  for (size_t j = 0; j < d; j++)
    if (a[j] != b[j])
      return a[j] < b[j] ? -1 : 1;
  return 0;
}

/* qsort's order of records: hash, then values. */
static int rec_cmp(const void *pa, const void *pb) {
  const uint64_t *a = pa, *b = pb;
  if (a[REC_HASH] != b[REC_HASH])
    return a[REC_HASH] < b[REC_HASH] ? -1 : 1;
  return values_cmp(a + REC_HEAD, b + REC_HEAD, (size_t)a[REC_WIDTH]);
}

/* Sorts count records of w words and merges equal rows into one, adding their counts; returns
 * the records left. */
static size_t merge_equal(uint64_t *recs, size_t count, size_t w) {
  if (count == 0)
    return 0;
  qsort(recs, count, w * sizeof *recs, rec_cmp);
  size_t out = 0;
  for (size_t i = 1; i < count; i++) {
    uint64_t *last = recs + out * w, *r = recs + i * w;
    if (rec_cmp(last, r) == 0) {
      last[REC_COUNT] += r[REC_COUNT];
    } else if (++out != i) {
      memcpy(recs + out * w, r, w * sizeof *recs);
    }
  }
  return out + 1;
}

/* The records a rank keeps: those routed to it, merged whenever the buffer fills. */
typedef struct store {
  uint64_t *recs; /* count records of w words, then room for cap - count more */
  size_t count;   /* records held */
  size_t cap;     /* records there is room for */
  size_t w;       /* words per record */
} store;

/* Makes room for more records: merges what is held first, and grows (doubling, at least to
 * fit) when that frees less than half. */
static nvmm_status store_reserve(store *s, size_t more) {
  if (s->count + more <= s->cap)
    return NVMM_OK;
  s->count = merge_equal(s->recs, s->count, s->w);
  if (s->count + more <= s->cap && s->count <= s->cap / 2)
    return NVMM_OK;
  size_t cap = 2 * s->cap > s->count + more ? 2 * s->cap : s->count + more;
  NVMM_CHECK(cap <= SIZE_MAX / (s->w * sizeof *s->recs), NVMM_ENOMEM,
             "too many distinct rows to count duplicates (%zu)", cap);
  uint64_t *p = realloc(s->recs, cap * s->w * sizeof *p);
  NVMM_CHECK(p, NVMM_ENOMEM, "out of memory holding %zu distinct rows of %zu values", cap,
             s->w - REC_HEAD);
  s->recs = p;
  s->cap = cap;
  return NVMM_OK;
}

/* The buffers of one chunk. */
typedef struct chunk {
  double *x;      /* rows read: rows x d, row-major */
  uint64_t *recs; /* their records, merged */
  uint64_t *send; /* the records in destination order */
  int *scount;    /* records to each rank */
  int *sdispl;    /* where each rank's records start in send */
  int *rcount;    /* records from each rank */
  int *rdispl;    /* where they go, from the store's end */
  size_t rows;    /* rows per chunk (at most) */
} chunk;

static void chunk_free(chunk *c) {
  free(c->x);
  free(c->recs);
  free(c->send);
  free(c->scount);
  free(c->sdispl);
  free(c->rcount);
  free(c->rdispl);
}

static nvmm_status chunk_alloc(chunk *c, size_t rows, size_t d, size_t w, int size) {
  c->rows = rows;
  c->x = malloc(rows * d * sizeof *c->x);
  c->recs = malloc(rows * w * sizeof *c->recs);
  c->send = malloc(rows * w * sizeof *c->send);
  c->scount = malloc((size_t)size * sizeof *c->scount);
  c->sdispl = malloc((size_t)size * sizeof *c->sdispl);
  c->rcount = malloc((size_t)size * sizeof *c->rcount);
  c->rdispl = malloc((size_t)size * sizeof *c->rdispl);
  NVMM_CHECK(c->x && c->recs && c->send && c->scount && c->sdispl && c->rcount && c->rdispl,
             NVMM_ENOMEM, "out of memory for a chunk of %zu rows of %zu values", rows, d);
  return NVMM_OK;
}

/* Builds the records of the nrows rows in c->x, merges equal ones and lays them out by
 * destination rank (hash mod size) in c->send. */
static void chunk_build(chunk *c, size_t nrows, size_t d, size_t w, int size, int bits) {
  for (size_t i = 0; i < nrows; i++) {
    uint64_t *r = c->recs + i * w;
    for (size_t j = 0; j < d; j++) {
      double v = c->x[i * d + j];
      v = v == 0.0 ? 0.0 : v; /* -0.0 == 0.0: the same row */
      memcpy(&r[REC_HEAD + j], &v, sizeof v);
    }
    r[REC_HASH] = row_hash(r + REC_HEAD, d, bits);
    r[REC_COUNT] = 1;
    r[REC_WIDTH] = (uint64_t)d;
  }
  size_t count = merge_equal(c->recs, nrows, w);
  for (int k = 0; k < size; k++)
    c->scount[k] = 0;
  for (size_t i = 0; i < count; i++)
    c->scount[c->recs[i * w + REC_HASH] % (uint64_t)size]++;
  int off = 0;
  for (int k = 0; k < size; k++) {
    c->sdispl[k] = off;
    off += c->scount[k];
  }
  /* rdispl serves as the fill pointer here; it is set for the receive after the count swap. */
  memcpy(c->rdispl, c->sdispl, (size_t)size * sizeof *c->rdispl);
  for (size_t i = 0; i < count; i++) {
    int k = (int)(c->recs[i * w + REC_HASH] % (uint64_t)size);
    memcpy(c->send + (size_t)c->rdispl[k]++ * w, c->recs + i * w, w * sizeof *c->send);
  }
}

/* One chunk: read (collective, agreed), build, swap counts, make room, swap records. */
static nvmm_status chunk_round(MPI_Comm comm, nvmm_data *data, chunk *c, store *s, int64_t row0,
                               int64_t nrows, size_t d, int size, int bits, MPI_Datatype rec) {
  nvmm_status st = nvmm_data_read(data, row0, nrows, c->x, NULL);
  if (st != NVMM_OK)
    return st;
  chunk_build(c, (size_t)nrows, d, s->w, size, bits);
  if (MPI_Alltoall(c->scount, 1, MPI_INT, c->rcount, 1, MPI_INT, comm) != MPI_SUCCESS)
    NVMM_ERROR(NVMM_EMPI, "MPI_Alltoall failed exchanging duplicate-row counts");
  size_t total = 0;
  for (int k = 0; k < size; k++) {
    c->rdispl[k] = (int)total; /* total <= size * c->rows <= INT_MAX (nvmm_data_duplicates) */
    total += (size_t)c->rcount[k];
  }
  st = nvmm_agree(comm, store_reserve(s, total));
  if (st != NVMM_OK)
    return st;
  uint64_t *tail = s->recs ? s->recs + s->count * s->w : NULL; /* NULL: nothing to receive */
  if (MPI_Alltoallv(c->send, c->scount, c->sdispl, rec, tail, c->rcount, c->rdispl, rec, comm) !=
      MPI_SUCCESS)
    NVMM_ERROR(NVMM_EMPI, "MPI_Alltoallv failed routing rows to count duplicates");
  s->count += total;
  return NVMM_OK;
}

/* This rank's counts over its merged store: groups, rows in them and rows seen, and the most
 * repeated row (the smallest of ties), *count times (0 when none repeats), into row. */
static void local_counts(const store *s, size_t d, int64_t sums[3], int64_t *count, double *row) {
  const uint64_t *top = NULL;
  for (size_t i = 0; i < s->count; i++) {
    const uint64_t *r = s->recs + i * s->w;
    sums[2] += (int64_t)r[REC_COUNT];
    if (r[REC_COUNT] < 2)
      continue;
    sums[0]++;
    sums[1] += (int64_t)r[REC_COUNT];
    if (!top || r[REC_COUNT] > top[REC_COUNT] ||
        (r[REC_COUNT] == top[REC_COUNT] && values_cmp(r + REC_HEAD, top + REC_HEAD, d) < 0))
      top = r;
  }
  *count = top ? (int64_t)top[REC_COUNT] : 0;
  for (size_t j = 0; j < d; j++)
    row[j] = top ? word_value(top[REC_HEAD + j]) : 0.0;
}

void nvmm_dups_report_free(nvmm_dups_report *report) {
  if (!report)
    return;
  free(report->max_row);
  memset(report, 0, sizeof *report);
}

nvmm_status nvmm_data_duplicates(MPI_Comm comm, nvmm_data *data, nvmm_dups_report *report) {
  NVMM_CHECK(report, NVMM_EINVAL, "report is NULL");
  memset(report, 0, sizeof *report);
  NVMM_CHECK(data, NVMM_EINVAL, "data set is NULL");
  NVMM_CHECK(comm != MPI_COMM_NULL, NVMM_EINVAL, "communicator is MPI_COMM_NULL");
  MPI_Comm dup = MPI_COMM_NULL;
  NVMM_CALL(nvmm__comm_dup(comm, &dup));
  int rank = 0, size = 1;
  MPI_Comm_rank(dup, &rank);
  MPI_Comm_size(dup, &size);
  int64_t n = 0, dd = 0;
  nvmm_data_dims(data, &n, &dd);
  size_t d = (size_t)dd, w = REC_HEAD + d;
  /* This rank's contiguous share of the rows. */
  int64_t q = n / size, rem = n % size;
  int64_t first = rank * q + (rank < rem ? rank : rem), nloc = q + (rank < rem);
  /* Rows per chunk: CHUNK_BYTES of records, and few enough that the records a rank can
   * receive in one round (size chunks) are counted by an int. */
  size_t rows = CHUNK_BYTES / (w * sizeof(uint64_t));
  if (rows > (size_t)(INT_MAX / size))
    rows = (size_t)(INT_MAX / size);
  long hook = nvmm__fault_dups_chunk_rows();
  if (hook > 0 && (size_t)hook < rows)
    rows = (size_t)hook;
  if (rows < 1)
    rows = 1;
  int64_t rounds = (q + (rem > 0) + (int64_t)rows - 1) / (int64_t)rows;
  int bits = nvmm__fault_dups_hash_bits();
  chunk c = {0};
  store s = {NULL, 0, 0, w};
  double *best = NULL, *all = NULL;
  MPI_Datatype rec = MPI_DATATYPE_NULL;
  nvmm_status st = chunk_alloc(&c, rows, d, w, size);
  if (st == NVMM_OK && w > (size_t)INT_MAX)
    st = NVMM_RAISE(NVMM_EINVAL, "rows of %zu values are too wide to route", d);
  if (st == NVMM_OK && (MPI_Type_contiguous((int)w, MPI_UINT64_T, &rec) != MPI_SUCCESS ||
                        MPI_Type_commit(&rec) != MPI_SUCCESS))
    st = NVMM_RAISE(NVMM_EMPI, "cannot make the MPI datatype of a row record");
  st = nvmm_agree(dup, st);
  for (int64_t r = 0; r < rounds && st == NVMM_OK; r++) {
    int64_t lo = r * (int64_t)rows < nloc ? r * (int64_t)rows : nloc;
    int64_t hi = lo + (int64_t)rows < nloc ? lo + (int64_t)rows : nloc;
    st = chunk_round(dup, data, &c, &s, first + lo, hi - lo, d, size, bits, rec);
  }
  /* Counts: {groups, rows in groups, rows seen}; each rank's best count and row. */
  int64_t sums[3] = {0, 0, 0}, tot[3] = {0, 0, 0}, mine = 0;
  int64_t *counts = NULL;
  if (st == NVMM_OK) {
    s.count = merge_equal(s.recs, s.count, w);
    best = malloc(d * sizeof *best);
    all = malloc((size_t)size * d * sizeof *all);
    counts = malloc((size_t)size * sizeof *counts);
    if (!best || !all || !counts)
      st = NVMM_RAISE(NVMM_ENOMEM, "out of memory gathering the most repeated rows");
    else
      local_counts(&s, d, sums, &mine, best);
    st = nvmm_agree(dup, st);
  }
  if (st == NVMM_OK &&
      (MPI_Allreduce(sums, tot, 3, MPI_INT64_T, MPI_SUM, dup) != MPI_SUCCESS ||
       MPI_Allgather(&mine, 1, MPI_INT64_T, counts, 1, MPI_INT64_T, dup) != MPI_SUCCESS ||
       MPI_Allgather(best, (int)d, MPI_DOUBLE, all, (int)d, MPI_DOUBLE, dup) != MPI_SUCCESS))
    st = NVMM_RAISE(NVMM_EMPI, "MPI_Allreduce/MPI_Allgather failed counting duplicates");
  if (st == NVMM_OK && tot[2] != n)
    st = NVMM_RAISE(NVMM_ESANITY, "duplicate count saw %" PRId64 " rows of %" PRId64, tot[2], n);
  /* The most repeated row over all ranks: the largest count, then the smallest row. */
  int top = -1;
  for (int k = 0; st == NVMM_OK && k < size; k++)
    if (counts[k] >= 2 &&
        (top < 0 || counts[k] > counts[top] ||
         (counts[k] == counts[top] && rows_cmp(all + (size_t)k * d, all + (size_t)top * d, d) < 0)))
      top = k;
  if (st == NVMM_OK && top >= 0 && !(report->max_row = malloc(d * sizeof *report->max_row)))
    st = NVMM_RAISE(NVMM_ENOMEM, "out of memory for the most repeated row");
  st = nvmm_agree(dup, st);
  if (st == NVMM_OK) {
    report->n = n;
    report->d = dd;
    report->distinct_repeated = tot[0];
    report->rows = tot[1];
    report->max_multiplicity = top >= 0 ? counts[top] : n > 0;
    if (top >= 0)
      memcpy(report->max_row, all + (size_t)top * d, d * sizeof *report->max_row);
  } else {
    nvmm_dups_report_free(report);
  }
  free(counts);
  free(best);
  free(all);
  free(s.recs);
  chunk_free(&c);
  if (rec != MPI_DATATYPE_NULL)
    MPI_Type_free(&rec);
  MPI_Comm_free(&dup);
  return st;
}
