// Lint runs as part of `npm test`. typescript-eslint's recommended rules on the sources,
// with the few project choices below.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Decoders use bitwise arithmetic on wire fields on purpose.
      'no-bitwise': 'off',
      'no-control-regex': 'off',
      // Taking a Map's or Set's first entry walks every hole deleted entries left (V8): a
      // bounded map evicting that way gets slower with every eviction (lib/collections/order.ts).
      'no-restricted-syntax': ['error', {
        selector: "CallExpression[callee.property.name='next'][callee.object.callee.property.name=/^(keys|values|entries)$/]",
        message: 'Evicting by a Map/Set first entry is O(deleted entries) in V8: use OrderedMap / RecencyList from lib/collections.',
      }],
    },
  },
  {
    // Tests read alerts back as parsed JSON and assert on their fields.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['scripts/**/*.mjs', '*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
