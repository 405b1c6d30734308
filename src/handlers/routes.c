/* routes.c: the API v1 table (DESIGN.md), method + pattern -> handler. */
#include <llhttp.h>

#include "handlers/internal.h"

const struct route handlers_routes[] = {
    {HTTP_GET, "/health", health_get, NULL},
    {HTTP_POST, "/v1/packages", packages_create, NULL},
    {HTTP_GET, "/v1/packages", packages_list, NULL},
    {HTTP_GET, "/v1/packages/{id}", packages_get, NULL},
    {HTTP_PUT, "/v1/packages/{id}/files/{path...}", NULL, &files_upload_ops},
    {HTTP_GET, "/v1/packages/{id}/files", files_list, NULL},
    {HTTP_POST, "/v1/packages/{id}/finalize", packages_finalize, NULL},
    {HTTP_GET, "/v1/packages/{id}/manifest", manifest_get, NULL},
    {HTTP_GET, "/v1/files/{id}", blobs_get_file, NULL},
    {HTTP_HEAD, "/v1/files/{id}", blobs_get_file, NULL},
    {HTTP_GET, "/v1/blobs/{addr}", blobs_get_blob, NULL},
    {HTTP_HEAD, "/v1/blobs/{addr}", blobs_get_blob, NULL},
    {HTTP_GET, "/v1/events", events_get, NULL},
    {HTTP_GET, "/v1/stats", stats_get, NULL},
};

const size_t handlers_nroutes = ARRAY_SIZE(handlers_routes);
