/* routes.c: the API v1 table (DESIGN.md), method + pattern -> handler. */
#include <llhttp.h>

#include "handlers/internal.h"

const struct route handlers_routes[] = {
    {HTTP_GET, "/health", health_get, NULL},
    {HTTP_POST, "/v1/packages", packages_create, NULL},
    {HTTP_GET, "/v1/packages", packages_list, NULL},
    {HTTP_GET, "/v1/packages/{id}", packages_get, NULL},
    {HTTP_DELETE, "/v1/packages/{id}", packages_delete, NULL},
    {HTTP_PUT, "/v1/packages/{id}/files/{path...}", NULL, &files_upload_ops},
    {HTTP_GET, "/v1/packages/{id}/files/{path...}", blobs_get_path, NULL},
    {HTTP_HEAD, "/v1/packages/{id}/files/{path...}", blobs_get_path, NULL},
    {HTTP_GET, "/v1/packages/{id}/files", files_list, NULL},
    {HTTP_POST, "/v1/packages/{id}/finalize", packages_finalize, NULL},
    {HTTP_GET, "/v1/packages/{id}/manifest", manifest_get, NULL},
    {HTTP_GET, "/v1/files/{id}", blobs_get_file, NULL},
    {HTTP_HEAD, "/v1/files/{id}", blobs_get_file, NULL},
    {HTTP_GET, "/v1/blobs/{addr}", blobs_get_blob, NULL},
    {HTTP_HEAD, "/v1/blobs/{addr}", blobs_get_blob, NULL},
    {HTTP_GET, "/v1/events", events_get, NULL},
    {HTTP_GET, "/v1/retention-classes", retention_classes_list, NULL},
    {HTTP_POST, "/v1/retention-classes", retention_classes_define, NULL},
    {HTTP_DELETE, "/v1/retention-classes/{name}", retention_classes_remove,
     NULL},
    {HTTP_POST, "/v1/packages/{id}/retention", retention_extend, NULL},
    {HTTP_POST, "/v1/packages/{id}/holds", holds_place, NULL},
    {HTTP_GET, "/v1/packages/{id}/holds", holds_list, NULL},
    {HTTP_DELETE, "/v1/packages/{id}/holds/{hold_id}", holds_release, NULL},
};

const size_t handlers_nroutes = ARRAY_SIZE(handlers_routes);
