/* bessel.c: placeholder until the module lands. */
