/* status.c: status texts, the last-error buffer and the one place every library error passes. */
#include "nvmm/status.h"

#include <stdarg.h>
#include <stdio.h>

/* Thread-local so concurrent fits on different threads keep their own message. */
static _Thread_local char last_msg[1024];
static nvmm_error_handler *handler;

const char *nvmm_strerror(nvmm_status code) {
  switch (code) {
#define NVMM_STATUS_CASE(name, value, text)                                                        \
  case NVMM_##name:                                                                                \
    return text;
    NVMM_STATUS_MAP(NVMM_STATUS_CASE)
#undef NVMM_STATUS_CASE
  }
  return "unknown status";
}

nvmm_error_handler *nvmm_set_error_handler(nvmm_error_handler *h) {
  nvmm_error_handler *old = handler;
  handler = h;
  return old;
}

const char *nvmm_last_error(void) { return last_msg; }

void nvmm_clear_error(void) { last_msg[0] = '\0'; }

nvmm_status nvmm_error(const char *file, int line, const char *func, nvmm_status code,
                       const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_msg, sizeof last_msg, fmt, ap);
  va_end(ap);
  if (handler)
    handler(file, line, func, code, last_msg);
  return code;
}
