/* demo.c: placeholder. */
