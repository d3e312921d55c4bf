# cmake -DSOURCE_DIR=... -DOUT_DIR=... -P CollectSeeds.cmake
# Copies the conformance vectors and schema examples that seed each fuzzer into OUT_DIR/<fuzzer>/,
# flattening their paths into file names. Run at build time, so no corpus is committed.
function(tcc_copy_seeds fuzzer)
  file(MAKE_DIRECTORY ${OUT_DIR}/${fuzzer})
  foreach(pattern ${ARGN})
    file(GLOB_RECURSE files RELATIVE ${SOURCE_DIR} ${SOURCE_DIR}/${pattern})
    foreach(file ${files})
      string(REPLACE "/" "_" name ${file})
      configure_file(${SOURCE_DIR}/${file} ${OUT_DIR}/${fuzzer}/${name} COPYONLY)
    endforeach()
  endforeach()
endfunction()

tcc_copy_seeds(jcs tests/vectors/jcs/*.json tests/vectors/eddsa-jcs-2022/*.json
               tests/vectors/eddsa-jcs-2022/*.jcs tests/vectors/w3c-vc-di-eddsa/*.json
               schemas/examples/*.json)
tcc_copy_seeds(credential tests/vectors/eddsa-jcs-2022/*/signed.json
               tests/vectors/eddsa-jcs-2022/*/unsigned.json tests/vectors/w3c-vc-di-eddsa/*.json)
tcc_copy_seeds(protocol schemas/examples/channel-messages/*.json)
tcc_copy_seeds(evidence schemas/evidence-bundle.schema.json)
tcc_copy_seeds(template schemas/examples/*.tit.json schemas/examples/*.tst.json schemas/*.schema.json)
file(MAKE_DIRECTORY ${OUT_DIR}/merkle)
tcc_copy_seeds(did tests/vectors/identities.json tests/vectors/w3c-vc-di-eddsa/keyPair.json)
file(MAKE_DIRECTORY ${OUT_DIR}/ledger ${OUT_DIR}/evm)
