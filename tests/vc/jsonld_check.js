// Processes credentials as a JSON-LD verifier in safe mode would (jsonld.js, pinned in
// package-lock.json): every term must expand to an IRI and every @id must be a valid IRI, or
// expansion fails; then the credential is canonized (RDFC-1.0). Contexts come only from the pinned
// @digitalbazaar/credentials-context package: nothing is fetched from the network.
// Usage: node jsonld_check.js CREDENTIAL.json... ; prints "OK FILE (N quads)" or "FAIL FILE: why";
// exit 0 when all pass, 1 otherwise.
'use strict';
const fs = require('fs');
const jsonld = require('jsonld');
const { contexts } = require('@digitalbazaar/credentials-context');

const documentLoader = async (url) => {
  const document = contexts.get(url);
  if (!document) throw new Error(`context ${url} is not available offline`);
  return { contextUrl: null, documentUrl: url, document };
};

(async () => {
  let failed = 0;
  for (const file of process.argv.slice(2)) {
    try {
      const credential = JSON.parse(fs.readFileSync(file, 'utf8'));
      const expanded = await jsonld.expand(credential, { documentLoader, safe: true });
      const quads = await jsonld.canonize(expanded, {
        algorithm: 'RDFC-1.0', format: 'application/n-quads', documentLoader, safe: true,
      });
      const count = quads.split('\n').filter((line) => line.length > 0).length;
      if (count === 0) throw new Error('no statements: nothing in it was understood');
      console.log(`OK ${file} (${count} quads)`);
    } catch (error) {
      failed += 1;
      console.log(`FAIL ${file}: ${error.message}${error.details ? ' ' + JSON.stringify(error.details).slice(0, 300) : ''}`);
    }
  }
  process.exit(failed === 0 ? 0 : 1);
})();
