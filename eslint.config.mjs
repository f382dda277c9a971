// ESLint (flat config) for the front end and the browser tests: `bash .ci/run` runs
// `e2e/node_modules/.bin/eslint .`. The plugins are installed with the browser test's npm
// packages (e2e/package.json), hence the relative imports.
import js from './e2e/node_modules/@eslint/js/src/index.js';
import globals from './e2e/node_modules/globals/index.js';

export default [
  { ignores: ['target/**', '**/node_modules/**', 'fuzz/**', 'docs/**'] },
  js.configs.recommended,
  {
    files: ['web/js/**/*.js'],
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: globals.browser },
    rules: {
      'no-unused-vars': ['error', { args: 'none', caughtErrors: 'none' }],
      eqeqeq: ['error', 'smart'],
      'no-var': 'error',
      'prefer-const': 'error',
    },
  },
  {
    files: ['e2e/**/*.mjs'],
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: { ...globals.node, ...globals.browser } },
    rules: { 'no-unused-vars': ['error', { args: 'none', caughtErrors: 'none' }] },
  },
];
