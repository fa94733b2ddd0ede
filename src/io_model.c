/* io_model.c: placeholder. */
