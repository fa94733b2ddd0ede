/* nvmm/status.h: status codes, the single error-reporting path and the checking macros. */
#ifndef NVMM_STATUS_H
#define NVMM_STATUS_H

#include <stddef.h>

#if defined(__GNUC__)
#define NVMM_EXTERN __attribute__((visibility("default")))
#define NVMM_NODISCARD __attribute__((warn_unused_result))
#define NVMM_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define NVMM_EXTERN
#define NVMM_NODISCARD
#define NVMM_PRINTF(f, a)
#endif

/* One table is the source of truth for the codes and their texts. */
#define NVMM_STATUS_MAP(XX)                                                                        \
  XX(OK, 0, "success")                                                                             \
  XX(EINVAL, -1, "invalid argument")                                                               \
  XX(EDOM, -2, "argument outside the domain")                                                      \
  XX(ENOMEM, -3, "out of memory")                                                                  \
  XX(ENOCONV, -4, "iteration did not converge")                                                    \
  XX(EFACTOR, -5, "matrix not positive definite")                                                  \
  XX(ESANITY, -6, "internal consistency check failed")                                             \
  XX(EIO, -7, "input/output error")                                                                \
  XX(EMPI, -8, "MPI error")                                                                        \
  XX(EBADTOL, -9, "invalid tolerance")

typedef enum {
#define NVMM_STATUS_ENUM(name, value, text) NVMM_##name = value,
  NVMM_STATUS_MAP(NVMM_STATUS_ENUM)
#undef NVMM_STATUS_ENUM
} nvmm_status;

/* The text of a status code ("unknown status" for a value not in the table). Not collective. */
NVMM_EXTERN const char *nvmm_strerror(nvmm_status code);

/* Called once for every error raised in the library, after the message has been formatted.
 * The default handler does nothing: the library never prints. Programs install their own. */
typedef void nvmm_error_handler(const char *file, int line, const char *func, nvmm_status code,
                                const char *msg);

/* Installs a handler (NULL restores the silent default) and returns the previous one. This is
 * the library's only mutable global; set it once, before any fit. */
NVMM_EXTERN nvmm_error_handler *nvmm_set_error_handler(nvmm_error_handler *handler);

/* The message of the most recent error raised on this thread ("" if none). */
NVMM_EXTERN const char *nvmm_last_error(void);

/* Forgets the last error message of this thread. */
NVMM_EXTERN void nvmm_clear_error(void);

/* Records an error and returns code. Use through NVMM_RAISE or NVMM_ERROR. */
NVMM_EXTERN nvmm_status nvmm_error(const char *file, int line, const char *func, nvmm_status code,
                                   const char *fmt, ...) NVMM_PRINTF(5, 6);

/* Records an error at this place and evaluates to code (an expression: st = NVMM_RAISE(...)). */
#define NVMM_RAISE(code, ...) nvmm_error(__FILE__, __LINE__, __func__, (code), __VA_ARGS__)

/* Records an error at this place and returns code from the calling function. */
#define NVMM_ERROR(code, ...) return NVMM_RAISE((code), __VA_ARGS__)

/* Validates user input; always compiled. */
#define NVMM_CHECK(cond, code, ...)                                                                \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      NVMM_ERROR((code), __VA_ARGS__);                                                             \
  } while (0)

/* Propagates a non-OK status to the caller. */
#define NVMM_CALL(expr)                                                                            \
  do {                                                                                             \
    nvmm_status nvmm_call_st_ = (expr);                                                            \
    if (nvmm_call_st_ != NVMM_OK)                                                                  \
      return nvmm_call_st_;                                                                        \
  } while (0)

#endif
