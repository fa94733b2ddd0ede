/* sample.c: placeholder until the module lands. */
