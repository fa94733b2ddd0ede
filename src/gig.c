/* gig.c: placeholder until the module lands. */
