/*
 * test_uuid.c: UUID text forms (parse either case, format lowercase, every
 * malformed form refused) and the UUIDv7 layout (time in the first 48
 * bits, version 7, variant 10, random bits that differ).
 */
#include <string.h>
#include <uv.h>

#include "store/codec/uuid.h"
#include "test.h"

static void test_parse_format(void) {
  struct uuid u, v;
  char s[UUID_STRLEN + 1];

  ASSERT_EQ(uuid_parse("0190A1B2-c3d4-7e5f-8a6b-7c8d9e0f1a2b", 36, &u), 0);
  uuid_format(&u, s);
  ASSERT_STREQ(s, "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b");
  ASSERT_EQ(u.b[0], 0x01);
  ASSERT_EQ(u.b[15], 0x2b);
  /* format and parse are inverses */
  ASSERT_EQ(uuid_parse(s, strlen(s), &v), 0);
  ASSERT_MEMEQ(u.b, v.b, UUID_LEN);
}

static void test_rejects(void) {
  struct uuid v;
  char s[UUID_STRLEN + 1] = "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b";

  ASSERT_EQ(uuid_parse(s, 35, &v), UV_EINVAL);     /* too short */
  ASSERT_EQ(uuid_parse(s, 0, &v), UV_EINVAL);
  ASSERT_EQ(uuid_parse("0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2g", 36, &v),
            UV_EINVAL);                            /* not hex */
  ASSERT_EQ(uuid_parse("0190a1b2c-3d4-7e5f-8a6b-7c8d9e0f1a2b", 36, &v),
            UV_EINVAL);                            /* hyphen moved */
  ASSERT_EQ(uuid_parse("0190a1b2_c3d4-7e5f-8a6b-7c8d9e0f1a2b", 36, &v),
            UV_EINVAL);                            /* not a hyphen */
  ASSERT_EQ(uuid_parse("0190a1b2c3d47e5f8a6b7c8d9e0f1a2b0000", 36, &v),
            UV_EINVAL);                            /* no hyphens */
  ASSERT_EQ(uuid_parse("0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2\0", 36, &v),
            UV_EINVAL);                            /* NUL inside */
}

static void test_v7_layout(void) {
  struct uuid u;

  uuid_v7(UINT64_C(0x0123456789ab), &u);
  ASSERT_EQ(u.b[0], 0x01);
  ASSERT_EQ(u.b[1], 0x23);
  ASSERT_EQ(u.b[4], 0x89);
  ASSERT_EQ(u.b[5], 0xab);
  ASSERT_EQ(u.b[6] >> 4, 7);          /* version */
  ASSERT_EQ(u.b[8] >> 6, 2);          /* variant 10 */
}

/* Two ids of the same millisecond differ in their random bits. */
static void test_v7_random(void) {
  struct uuid u, v;

  uuid_v7(UINT64_C(0x0123456789ab), &u);
  uuid_v7(UINT64_C(0x0123456789ab), &v);
  ASSERT(memcmp(u.b, v.b, UUID_LEN) != 0);
  ASSERT_MEMEQ(u.b, v.b, 6);
}

TEST_MAIN(TEST_CASE(test_parse_format), TEST_CASE(test_rejects),
          TEST_CASE(test_v7_layout), TEST_CASE(test_v7_random))
