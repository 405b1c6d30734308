/*
 * local.h: test-only hooks into the local filesystem blob backend.
 * Nothing in the daemon calls these; they exist so tests can inject I/O
 * failures and check that every error path cleans up.
 */
#ifndef AS_BLOB_LOCAL_H
#define AS_BLOB_LOCAL_H

#include "store/blob/blob.h"

/* TEST ONLY.  The next blob_ingest_write on any ingest of store s (a
 * local store) fails with code (a negative UV_E* value) after the temp
 * file was created, as if write(2) had returned it. 0 cancels. */
void blob_local_fail_next_write(struct blob_store *s, int code);

/* TEST ONLY.  The next piece queued on any ingest of store s has its hash
 * job fail with code, while its write job runs normally. 0 cancels. */
void blob_local_fail_next_hash(struct blob_store *s, int code);

#endif
