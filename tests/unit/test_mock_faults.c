#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
static void not_written(void **state) { (void)state; fail_msg("test_mock_faults is not written yet"); }
int main(void) { const struct CMUnitTest t[] = {cmocka_unit_test(not_written)}; return cmocka_run_group_tests(t, NULL, NULL); }
