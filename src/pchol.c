/* pchol.c: placeholder until the ScaLAPACK path lands. */
