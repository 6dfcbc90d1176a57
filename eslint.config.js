// Lint: the recommended JavaScript and type-aware TypeScript rules, kept quiet about style
// (formatting is not linted). `npm test` runs it after the type check.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'twin-ui/dist/', 'artifacts/', 'scratch/', 'load-tests/**/*.js', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // The one door (gateways/door/CONTEXT.md): in gateways/ only door/control.ts reaches Engine.submit,
    // submitBatch or the scenarios' submitScenario; every other edge calls the door (Control).
    // The offline CLI commands (their own batch engine in their own process, no server) are not doors.
    files: ['gateways/**/*.ts'],
    ignores: ['gateways/door/control.ts', 'gateways/cli/**', '**/*.test.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.property.name=/^(submit|submitBatch)$/]:not([callee.object.name=/^(control|door)$/]):not([callee.object.property.name=/^(control|door)$/])", message: 'Inputs reach the engine only through the one door (gateways/door/control.ts Control).' },
        { selector: "CallExpression[callee.name='submitScenario']", message: 'Scenario runs go through the door: control.submitScenario(...).' },
      ],
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
