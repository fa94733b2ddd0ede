/* io_data.c: placeholder. */
