/*
 * upload_answer.h: answers of the upload (files.c), in upload_answer.c.
 */
#ifndef AS_HANDLERS_UPLOAD_ANSWER_H
#define AS_HANDLERS_UPLOAD_ANSWER_H

#include "handlers/internal.h"

/* A failure of the blob store, with its cause: a full disk and I/O
 * errors also make /health report failing writes (fence.c; app NULL: do
 * not); running out of descriptors is transient. */
void upload_blob_problem(struct app *app, struct conn *c, int status);
/* 409 duplicate-path naming the file f that is there; why is appended to
 * the detail ("" or ", and ..."). */
void upload_duplicate(struct conn *c, const struct file_rec *f,
                      const char *why);
/* The same bytes again at the same path: 200 with the file as it is. */
void upload_same(struct conn *c, const struct file_rec *f);

#endif
