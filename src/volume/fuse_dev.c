/* fuse_dev: placeholder until its owner fills it in. */
