/* bessel_quad.c: placeholder until the module lands. */
