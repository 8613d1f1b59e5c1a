# Tests of the seal_ module (crypto/seal*.c) and the sealing CLI verbs.
sealgate_unit_test(seal_test_value SOURCES ${CMAKE_CURRENT_LIST_DIR}/seal_test_value.c
    LIBS sealgate_crypto PkgConfig::SODIUM)
