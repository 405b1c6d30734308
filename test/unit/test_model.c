/* test_model.c: UUID text forms, UUIDv7 layout, RFC 3339 timestamps. */
#include <string.h>
#include <uv.h>

#include "store/codec/ts.h"
#include "store/codec/uuid.h"
#include "test.h"

int main(void) {
  struct uuid u, v;
  char s[UUID_STRLEN + 1], t[TS_STRLEN + 1];

  ASSERT_EQ(uuid_parse("0190A1B2-c3d4-7e5f-8a6b-7c8d9e0f1a2b", 36, &u), 0);
  uuid_format(&u, s);
  ASSERT_STREQ(s, "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b");
  ASSERT_EQ(uuid_parse(s, 35, &v), UV_EINVAL);
  ASSERT_EQ(uuid_parse("0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2g", 36, &v),
            UV_EINVAL);
  ASSERT_EQ(uuid_parse("0190a1b2c-3d4-7e5f-8a6b-7c8d9e0f1a2b", 36, &v),
            UV_EINVAL);

  uuid_v7(UINT64_C(0x0123456789ab), &u);
  ASSERT_EQ(u.b[0], 0x01);
  ASSERT_EQ(u.b[5], 0xab);
  ASSERT_EQ(u.b[6] >> 4, 7);          /* version */
  ASSERT_EQ(u.b[8] >> 6, 2);          /* variant 10 */
  uuid_v7(UINT64_C(0x0123456789ab), &v);
  ASSERT(memcmp(u.b, v.b, UUID_LEN) != 0);

  ts_format(0, t);
  ASSERT_STREQ(t, "1970-01-01T00:00:00.000000Z");
  ts_format(INT64_C(1795962293123456), t);
  ASSERT_STREQ(t, "2026-11-29T14:24:53.123456Z");
  ts_format(-1, t);
  ASSERT_STREQ(t, "1969-12-31T23:59:59.999999Z");
  ASSERT(ts_now_us() > INT64_C(1700000000000000));
  return 0;
}
