// ESLint with typescript-eslint's type-checked rules: the ones that matter most in a bot are
// no-floating-promises and no-misused-promises (a forgotten await loses an error silently).
// Formatting is Prettier's job (npm run format); unused exports are knip's (npm run lint runs both).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'data/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // Plain JavaScript runs on Node (eslint.config.js, test/setup/ensure-redis-server.mjs). Listed by hand: the
    // `globals` package is not a dependency, and these are the only Node globals the scripts use.
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
