import { useEffect, useState, type FormEvent } from 'react';
import { useNavigate, useSearchParams } from 'react-router-dom';
import { ApiError, errorMessage } from '@/api/client';
import { useLogin } from '@/api/hooks';
import { Brand } from '@/components/Layout';
import { Button } from '@/components/ui/button';
import { Card, CardContent, CardDescription, CardHeader } from '@/components/ui/card';
import { Field, Input } from '@/components/ui/input';
import { required, type Errors, hasErrors } from '@/lib/validate';

export function LoginPage() {
  const [username, setUsername] = useState('admin');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<Errors>({});
  const [waitUntil, setWaitUntil] = useState<number | null>(null);
  const [now, setNow] = useState(() => Date.now());
  const login = useLogin();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const next = params.get('next');

  useEffect(() => {
    document.title = 'Log in · timebridge';
  }, []);
  useEffect(() => {
    if (!waitUntil) return;
    const t = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(t);
  }, [waitUntil]);
  const secondsLeft = waitUntil ? Math.max(0, Math.ceil((waitUntil - now) / 1000)) : 0;

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const errs: Errors = { username: required(username, 'Username'), password: required(password, 'Password') };
    setErrors(errs);
    if (hasErrors(errs)) return;
    login.mutate(
      { username: username.trim(), password },
      {
        onSuccess: () => navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/', { replace: true }),
        onError: (err) => {
          if (err instanceof ApiError && err.status === 429) {
            setNow(Date.now());
            setWaitUntil(Date.now() + (err.retryAfter ?? 60) * 1000);
          }
          if (err instanceof ApiError) setErrors(err.fieldErrors);
        },
      },
    );
  };

  const err = login.error;
  let message: string | null = null;
  if (err instanceof ApiError && err.status === 401) message = 'Wrong username or password.';
  else if (err instanceof ApiError && err.status === 429)
    message =
      secondsLeft > 0
        ? `Too many failed attempts from this browser. For your security, logins are paused: try again in ${secondsLeft} second${secondsLeft === 1 ? '' : 's'}.`
        : 'Too many failed attempts. You can try again now.';
  else if (err) message = errorMessage(err);

  return (
    <div className="flex min-h-screen items-center justify-center bg-slate-50 p-4">
      <main className="w-full max-w-sm">
        <div className="mb-6 flex justify-center">
          <Brand />
        </div>
        <Card>
          <CardHeader>
            <h1 className="text-lg font-semibold text-slate-900">Log in</h1>
            <CardDescription>Time entries, synced between your systems</CardDescription>
          </CardHeader>
          <CardContent>
            <form className="grid grid-cols-1 gap-4" onSubmit={submit} noValidate>
              <Field id="username" label="Username" error={errors.username} required>
                <Input autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} />
              </Field>
              <Field id="password" label="Password" error={errors.password} required>
                <Input type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} autoFocus />
              </Field>
              {message && (
                <p role="alert" className="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-900">
                  {message}
                </p>
              )}
              <Button type="submit" disabled={login.isPending || secondsLeft > 0}>
                {login.isPending ? 'Logging in…' : 'Log in'}
              </Button>
            </form>
          </CardContent>
        </Card>
      </main>
    </div>
  );
}
