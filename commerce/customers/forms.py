from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password


class SignupForm(forms.Form):
    first_name = forms.CharField(max_length=150)
    email = forms.EmailField()
    password = forms.CharField(widget=forms.PasswordInput, help_text="At least 8 characters, not all numbers.")

    def clean_email(self):
        email = self.cleaned_data["email"].lower()
        if get_user_model().objects.filter(username__iexact=email).exists():
            raise forms.ValidationError("An account with this email already exists. Log in instead.")
        return email

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password"):
            user = get_user_model()(username=cleaned.get("email", ""), first_name=cleaned.get("first_name", ""))
            validate_password(cleaned["password"], user)
        return cleaned

    def save(self):
        data = self.cleaned_data
        return get_user_model().objects.create_user(
            username=data["email"], email=data["email"], password=data["password"], first_name=data["first_name"]
        )
