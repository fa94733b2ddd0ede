/* io_import.c: placeholder. */
